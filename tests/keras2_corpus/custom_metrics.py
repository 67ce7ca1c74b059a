'''Custom batch-wise metrics written with the backend functions (precision, recall, F1), as Keras 2
code did after Keras 2.0 dropped them, on a binary task over MNIST (zero vs. the rest).'''
from __future__ import print_function

import os

import numpy as np
from keras import backend as K
from keras.datasets import mnist
from keras.layers import Dense, Dropout
from keras.models import Sequential

epochs = int(os.environ.get('KERAS_CORPUS_EPOCHS', 10))


def recall_m(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    possible_positives = K.sum(K.round(K.clip(y_true, 0, 1)))
    return true_positives / (possible_positives + K.epsilon())


def precision_m(y_true, y_pred):
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
    return true_positives / (predicted_positives + K.epsilon())


def f1_m(y_true, y_pred):
    precision = precision_m(y_true, y_pred)
    recall = recall_m(y_true, y_pred)
    return 2 * ((precision * recall) / (precision + recall + K.epsilon()))


def mean_pred(y_true, y_pred):
    return K.mean(y_pred)


(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(len(x_train), -1).astype('float32') / 255
x_test = x_test.reshape(len(x_test), -1).astype('float32') / 255
y_train = (y_train == 0).astype('float32')
y_test = (y_test == 0).astype('float32')

model = Sequential()
model.add(Dense(32, activation='relu', input_shape=(784,)))
model.add(Dropout(0.1))
model.add(Dense(1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='adam',
              metrics=['acc', f1_m, precision_m, recall_m, mean_pred])
history = model.fit(x_train, y_train, batch_size=16, epochs=epochs, verbose=0)
print('log keys:', sorted(history.history))

loss, accuracy, f1_score, precision, recall, mean_p = model.evaluate(x_test, y_test, batch_size=8, verbose=0)
p = model.predict(x_test).ravel()
print('mean prediction matches:', bool(np.isclose(mean_p, p.mean(), atol=1e-5)))
print('f1 %.3f precision %.3f recall %.3f' % (f1_score, precision, recall))
print('Test loss:', loss)
print('Test accuracy:', accuracy)
