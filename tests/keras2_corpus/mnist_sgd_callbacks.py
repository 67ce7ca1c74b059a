'''An MLP on MNIST with SGD + Nesterov momentum and the Keras 2 callbacks that tune the learning rate.'''
from __future__ import print_function

import os

import keras
from keras import backend as K
from keras.callbacks import Callback, EarlyStopping, LearningRateScheduler, ReduceLROnPlateau
from keras.datasets import mnist
from keras.layers import Activation, Dense, Dropout
from keras.models import Sequential
from keras.optimizers import sgd
from keras.utils.np_utils import to_categorical

epochs = int(os.environ.get('KERAS_CORPUS_EPOCHS', 30))

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(-1, 28 * 28).astype('float32') / 255.
x_test = x_test.reshape(-1, 28 * 28).astype('float32') / 255.
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)


class LossHistory(Callback):
    def on_train_begin(self, logs={}):
        self.losses = []

    def on_batch_end(self, batch, logs={}):
        self.losses.append(logs.get('loss'))


def step_decay(epoch):
    # halve the learning rate every 10 epochs
    lr = K.get_value(model.optimizer.lr)
    if epoch % 10 == 0 and epoch != 0:
        K.set_value(model.optimizer.lr, lr * 0.5)
        print('lr changed to {}'.format(lr * 0.5))
    return K.get_value(model.optimizer.lr)


model = Sequential()
model.add(Dense(64, input_dim=784, kernel_initializer='uniform'))
model.add(Activation('tanh'))
model.add(Dropout(0.5))
model.add(Dense(64, kernel_initializer='uniform'))
model.add(Activation('tanh'))
model.add(Dropout(0.5))
model.add(Dense(10, kernel_initializer='uniform'))
model.add(Activation('softmax'))

opt = sgd(lr=0.1, decay=1e-6, momentum=0.9, nesterov=True)
model.compile(loss='categorical_crossentropy',
              optimizer=opt,
              metrics=[keras.metrics.categorical_accuracy])

loss_history = LossHistory()
callbacks = [loss_history,
             LearningRateScheduler(step_decay),
             ReduceLROnPlateau(monitor='val_loss', factor=0.2, patience=5, min_lr=0.001),
             EarlyStopping(monitor='val_loss', patience=10, verbose=1)]
history = model.fit(x_train, y_train, epochs=epochs, batch_size=16, validation_split=0.2,
                    callbacks=callbacks, verbose=0)
print('epochs run:', len(history.history['loss']))
print('batch losses recorded:', len(loss_history.losses))
print('final learning rate:', K.get_value(model.optimizer.lr))

score = model.evaluate(x_test, y_test, batch_size=16)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
