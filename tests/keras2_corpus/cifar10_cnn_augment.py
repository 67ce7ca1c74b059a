'''A small convnet on CIFAR-10 trained on augmented images from ImageDataGenerator
(Keras 2 style: fit_generator, lowercase optimizer with lr/decay).'''
from __future__ import print_function

import os

import numpy as np
import keras
from keras.datasets import cifar10
from keras.preprocessing.image import ImageDataGenerator
from keras.models import Sequential
from keras.layers import Dense, Dropout, Activation, Flatten
from keras.layers import Conv2D, MaxPooling2D

batch_size = 32
num_classes = 10
epochs = int(os.environ.get('KERAS_CORPUS_EPOCHS', 100))
data_augmentation = True

(x_train, y_train), (x_test, y_test) = cifar10.load_data()
print('x_train shape:', x_train.shape)

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Conv2D(32, (3, 3), padding='same', input_shape=x_train.shape[1:]))
model.add(Activation('relu'))
model.add(Conv2D(32, (3, 3)))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))

model.add(Conv2D(64, (3, 3), padding='same'))
model.add(Activation('relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))

model.add(Flatten())
model.add(Dense(256))
model.add(Activation('relu'))
model.add(Dropout(0.5))
model.add(Dense(num_classes))
model.add(Activation('softmax'))

# initiate RMSprop optimizer
opt = keras.optimizers.rmsprop(lr=0.0001, decay=1e-6)

model.compile(loss='categorical_crossentropy',
              optimizer=opt,
              metrics=['accuracy'])

x_train = x_train.astype('float32')
x_test = x_test.astype('float32')

if not data_augmentation:
    x_train /= 255
    x_test /= 255
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
              validation_data=(x_test, y_test), shuffle=True)
else:
    print('Using real-time data augmentation.')
    datagen = ImageDataGenerator(
        featurewise_center=True,
        featurewise_std_normalization=True,
        rescale=1. / 255,
        rotation_range=0,
        width_shift_range=0.1,
        height_shift_range=0.1,
        horizontal_flip=True,
        vertical_flip=False)

    # compute the quantities required for featurewise normalization
    datagen.fit(x_train)
    print('mean per channel:', datagen.mean.ravel())

    model.fit_generator(datagen.flow(x_train, y_train, batch_size=batch_size),
                        steps_per_epoch=x_train.shape[0] // batch_size,
                        epochs=epochs,
                        validation_data=datagen.flow(x_test, y_test, batch_size=batch_size),
                        validation_steps=1,
                        workers=4,
                        use_multiprocessing=False,
                        max_queue_size=10)

test_flow = datagen.flow(x_test, y_test, batch_size=batch_size, shuffle=False)
scores = model.evaluate_generator(test_flow, steps=len(test_flow), workers=1)
probabilities = model.predict_generator(test_flow, steps=len(test_flow))
print('predicted classes:', np.argmax(probabilities, axis=1))
print('Test loss:', scores[0])
print('Test accuracy:', scores[1])
