'''Builds the model from a list of layers in a helper function, as course code often did,
using only attribute access on the keras package (import keras; keras.layers.Dense ...).'''
from __future__ import print_function

import os

import numpy as np
import keras
import keras.backend as K

epochs = int(os.environ.get('KERAS_CORPUS_EPOCHS', 10))


def conv_block(filters):
    return [keras.layers.Conv2D(filters, (3, 3), padding='same', activation='relu'),
            keras.layers.MaxPooling2D((2, 2))]


def build_model(input_shape, num_classes):
    layers = [keras.layers.InputLayer(input_shape=input_shape)]
    layers += conv_block(8)
    layers += conv_block(16)
    layers += [keras.layers.Flatten(),
               keras.layers.Dense(32, activation='relu'),
               keras.layers.Dense(num_classes, activation='softmax')]
    return keras.Sequential(layers)


K.clear_session()
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = np.expand_dims(x_train, -1).astype(K.floatx()) / 255.
x_test = np.expand_dims(x_test, -1).astype(K.floatx()) / 255.
y_train = keras.utils.to_categorical(y_train, 10)
y_test = keras.utils.to_categorical(y_test, 10)

model = build_model(x_train.shape[1:], 10)
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.summary()
print('input shape of the data:', K.int_shape(x_train))
print('output shape:', model.output_shape)
print('layer names:', [layer.name for layer in model.layers])
trainable = int(np.sum([K.count_params(w) for w in model.trainable_weights]))
print('trainable params:', trainable, 'of', model.count_params())

model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=0)
weights = model.get_weights()
print('weight arrays:', len(weights), [w.shape for w in weights][:2])
loss, acc = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', loss)
print('Test accuracy:', acc)
