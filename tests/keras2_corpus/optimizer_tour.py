'''Fits the same small regression with every optimizer, spelled the Keras 2 ways
(lowercase classes with lr=, names, epsilon=None), one batch at a time.'''
from __future__ import print_function

import os

import numpy as np
from keras import losses, optimizers
from keras.layers import Dense
from keras.models import Sequential

steps = int(os.environ.get('KERAS_CORPUS_EPOCHS', 50)) * 4

rng = np.random.RandomState(0)
x = rng.uniform(-1, 1, size=(128, 8)).astype('float32')
w = rng.normal(size=(8, 1)).astype('float32')
y = x.dot(w) + 0.1

candidates = [
    optimizers.sgd(lr=0.05, momentum=0.9),
    optimizers.rmsprop(lr=0.01, epsilon=None),
    optimizers.adagrad(lr=0.1, epsilon=None, decay=1e-4),
    optimizers.adadelta(lr=1.0, rho=0.95, epsilon=None),
    optimizers.adam(lr=0.01, epsilon=None, amsgrad=False),
    optimizers.nadam(lr=0.01, schedule_decay=0.004),
    'sgd', 'rmsprop', 'adagrad', 'adadelta', 'adam', 'nadam',
]

for opt in candidates:
    model = Sequential()
    model.add(Dense(1, input_dim=8))
    model.compile(loss=losses.mean_squared_error, optimizer=opt, metrics=['mae'])
    before = model.test_on_batch(x, y)[0]
    for _ in range(steps):
        model.train_on_batch(x, y)
    after = model.test_on_batch(x, y)
    name = opt if isinstance(opt, str) else type(opt).__name__
    print('%-9s mse %.4f -> %.4f (mae %.4f)' % (name, before, after[0], after[1]))

print('Test loss:', after[0])
print('Test mae:', after[1])
