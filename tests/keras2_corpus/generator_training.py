'''Training from Python generators and a keras.utils.Sequence with the Keras 2 *_generator methods.'''
from __future__ import print_function

import math
import os

import numpy as np
from keras.datasets import mnist
from keras.layers import Dense, Dropout, Flatten
from keras.models import Sequential
from keras.utils import Sequence, to_categorical

epochs = int(os.environ.get('KERAS_CORPUS_EPOCHS', 5))
batch_size = 16

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.astype('float32') / 255.
x_test = x_test.astype('float32') / 255.
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)


def batch_generator(x, y, batch_size, shuffle=True):
    '''Yields (x, y) batches forever, reshuffling after each pass.'''
    n = x.shape[0]
    while True:
        order = np.random.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]


class MnistSequence(Sequence):
    def __init__(self, x, y, batch_size):
        self.x, self.y = x, y
        self.batch_size = batch_size

    def __len__(self):
        return int(math.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, idx):
        sl = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
        return self.x[sl], self.y[sl]


model = Sequential()
model.add(Flatten(input_shape=(28, 28)))
model.add(Dense(128, activation='relu'))
model.add(Dropout(0.2))
model.add(Dense(10, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='rmsprop', metrics=['accuracy'])

steps_per_epoch = x_train.shape[0] // batch_size
history = model.fit_generator(batch_generator(x_train, y_train, batch_size),
                              steps_per_epoch=steps_per_epoch,
                              epochs=epochs,
                              validation_data=batch_generator(x_test, y_test, batch_size, shuffle=False),
                              validation_steps=1,
                              max_queue_size=10, workers=1, use_multiprocessing=False,
                              verbose=2)
print('history keys:', sorted(history.history.keys()))

# a Sequence knows its length: no steps needed
model.fit_generator(MnistSequence(x_train, y_train, batch_size), epochs=1, verbose=0, shuffle=True)

test_steps = x_test.shape[0] // batch_size
score = model.evaluate_generator(batch_generator(x_test, y_test, batch_size, shuffle=False), steps=test_steps)
predictions = model.predict_generator(MnistSequence(x_test, y_test, batch_size))
print('predictions:', predictions.shape)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
