'''Binary classification with an MLP on random data, after setting the backend up explicitly
(Keras 2 style: K.set_floatx, K.set_epsilon, K.set_learning_phase, image_dim_ordering).'''
from __future__ import print_function

import os

import numpy as np
from keras import backend as K
from keras.layers import Dense, Dropout
from keras.models import Sequential

epochs = int(os.environ.get('KERAS_CORPUS_EPOCHS', 20))

K.set_floatx('float32')
K.set_epsilon(1e-7)
K.set_image_data_format('channels_last')
K.set_learning_phase(0)
print('backend:', K.backend(), 'floatx:', K.floatx(), 'epsilon:', K.epsilon())
print('image ordering:', K.image_dim_ordering(), K.image_data_format(), 'learning phase:', K.learning_phase())

try:
    K.set_image_data_format('channels_first')
except Exception as e:  # older backends may refuse channels-first layouts
    print('channels_first refused:', type(e).__name__)

# generate dummy data
np.random.seed(7)
x_train = np.random.random((256, 20)).astype(K.floatx())
y_train = (x_train.sum(axis=1) > 10).astype('int32')
x_test = np.random.random((64, 20)).astype(K.floatx())
y_test = (x_test.sum(axis=1) > 10).astype('int32')

model = Sequential()
model.add(Dense(64, input_dim=20, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(64, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(1, activation='sigmoid'))

model.compile(loss='binary_crossentropy',
              optimizer='rmsprop',
              metrics=['acc'])

history = model.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0)
print('log keys:', sorted(history.history))
score = model.evaluate(x_test, y_test, batch_size=128)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
