"""Colorization Lab core library.

Nothing heavy is imported here: TensorFlow and Keras are imported only by
:mod:`core.cnn`, so ``import core`` and the numpy colorizer stay fast.

Modules
-------
images    loading and validating photos (``load_image``, ``ImageError``)
color     colour spaces: ``rgb2lab``, ``lab2rgb``, ``rgb2gray``, quantization
metrics   the report's difference and accuracy, acc(t)/AuC, PSNR, SSIM, colorfulness
baselines gray, mean-colour and gray-level lookup predictors
splits    left/right, top/bottom and cross-image train/test splits
ann       the numpy neural network colorizer, written from scratch
report    the report's setups and printed figures (constants only)
datasets  scenario datasets for the CNN
cnn       the Keras colorizers (imports TensorFlow/Keras)
"""

__version__ = "0.1.0"
