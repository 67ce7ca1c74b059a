'''A batch-normalised convnet on CIFAR-10 with LeakyReLU and Adam, logging with callbacks
(Keras 2 module paths: keras.layers.normalization, keras.layers.advanced_activations).'''
from __future__ import print_function

import os
import tempfile

import keras
from keras.callbacks import CSVLogger, LambdaCallback, TerminateOnNaN
from keras.datasets import cifar10
from keras.layers.advanced_activations import LeakyReLU
from keras.layers.convolutional import Conv2D, MaxPooling2D
from keras.layers.core import Dense, Flatten, Dropout
from keras.layers.normalization import BatchNormalization
from keras.models import Sequential
from keras.optimizers import Adam
from keras.utils import np_utils

epochs = int(os.environ.get('KERAS_CORPUS_EPOCHS', 50))
num_classes = 10

(x_train, y_train), (x_test, y_test) = cifar10.load_data()
x_train = x_train.astype('float32') / 255
x_test = x_test.astype('float32') / 255
mean = x_train.mean(axis=(0, 1, 2), keepdims=True)
std = x_train.std(axis=(0, 1, 2), keepdims=True)
x_train = (x_train - mean) / (std + 1e-7)
x_test = (x_test - mean) / (std + 1e-7)
y_train = np_utils.to_categorical(y_train, num_classes)
y_test = np_utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Conv2D(16, (3, 3), padding='same', input_shape=(32, 32, 3)))
model.add(BatchNormalization())
model.add(LeakyReLU(alpha=0.1))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Conv2D(32, (3, 3), padding='same'))
model.add(BatchNormalization())
model.add(LeakyReLU(alpha=0.1))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.3))
model.add(Flatten())
model.add(Dense(num_classes, activation='softmax'))

model.compile(loss='categorical_crossentropy',
              optimizer=Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0),
              metrics=['accuracy'])

log_dir = tempfile.mkdtemp()
log_file = os.path.join(log_dir, 'training.log')
epoch_ends = []
callbacks = [CSVLogger(log_file),
             LambdaCallback(on_epoch_end=lambda epoch, logs: epoch_ends.append(logs['loss'])),
             TerminateOnNaN()]
model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_test, y_test),
          callbacks=callbacks, verbose=2)
with open(log_file) as f:
    print('csv log lines:', len(f.read().splitlines()))
print('epoch losses seen by LambdaCallback:', len(epoch_ends))

scores = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', scores[0])
print('Test accuracy:', scores[1])
