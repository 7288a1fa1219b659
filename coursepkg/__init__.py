"""coursepkg: the hand-written NumPy modules of *Neural Networks from Scratch*.

Every layer follows one contract (see ``module.py``): ``forward(X)`` computes and remembers,
``backward(grad_out)`` accumulates parameter gradients and returns the input gradient.
Plot helpers live in ``coursepkg.plotting`` (they need matplotlib and seaborn).
The reverse-mode engine of chapter 9 is the submodule ``coursepkg.autodiff`` (``from coursepkg
import autodiff as ad``): its ``ad.sigmoid``, ``ad.logsumexp``, ... take and return Tensors, so
they are not mixed with the NumPy functions of the same names exported here.
"""

from . import autodiff
from .activations import Activation, Arctan, ReLU, Sigmoid, Tanh
from .batch_chunks import get_threads, set_threads
from .batchnorm import BatchNorm
from .bayes_linear import BayesianLinear
from .claims import ClaimError, check_claim
from .conv import Conv2d, conv2d_naive
from .datasets import (
    load_digits_split,
    make_annuli,
    make_inverse_problem,
    make_linearly_separable,
    make_moons,
    make_sinusoid,
    make_xor_blobs,
    sample_function,
    train_test_split,
)
from .dropout import Dropout
from .early_stopping import EarlyStopping
from .flatten import Flatten
from .functional import log_softmax, logsumexp, one_hot, sigmoid, softmax, softplus
from .gradcheck import GradCheckResult, grad_check, grad_check_loss, numerical_gradient
from .laplace import LastLayerLaplace
from .linear import Linear
from .losses import BinaryCrossEntropy, Loss, MeanSquaredError, SoftmaxCrossEntropy
from .mdn import GaussianMixture, MixtureDensityLoss, mixture_parameters
from .metrics import accuracy, confusion_matrix, predict_labels
from .mnist import MNIST_SHA256, load_mnist
from .module import Module, Parameter, Sequential
from .optim import SGD, Adam, Optimizer
from .pooling import MaxPool2d
from .prior import GaussianPrior
from .training import History, minibatches, predict, train
from .variational import (
    ELBOHistory,
    ELBOTerms,
    kl_divergence,
    negative_elbo,
    predictive_entropy,
    predictive_probabilities,
    set_mode,
    train_elbo,
)

__version__ = "0.1.0"

__all__ = [
    "get_threads",
    "set_threads",
    "autodiff",
    "Conv2d",
    "conv2d_naive",
    "Flatten",
    "MaxPool2d",
    "Activation",
    "Adam",
    "Arctan",
    "BatchNorm",
    "BayesianLinear",
    "BinaryCrossEntropy",
    "ClaimError",
    "check_claim",
    "Dropout",
    "EarlyStopping",
    "ELBOHistory",
    "ELBOTerms",
    "GaussianMixture",
    "GaussianPrior",
    "GradCheckResult",
    "History",
    "LastLayerLaplace",
    "Linear",
    "Loss",
    "MNIST_SHA256",
    "MeanSquaredError",
    "MixtureDensityLoss",
    "Module",
    "Optimizer",
    "Parameter",
    "ReLU",
    "SGD",
    "Sequential",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "Tanh",
    "accuracy",
    "confusion_matrix",
    "grad_check",
    "grad_check_loss",
    "kl_divergence",
    "load_digits_split",
    "load_mnist",
    "log_softmax",
    "logsumexp",
    "make_annuli",
    "make_inverse_problem",
    "make_linearly_separable",
    "make_moons",
    "make_sinusoid",
    "make_xor_blobs",
    "minibatches",
    "mixture_parameters",
    "negative_elbo",
    "predict",
    "numerical_gradient",
    "one_hot",
    "predict_labels",
    "predictive_entropy",
    "predictive_probabilities",
    "sample_function",
    "set_mode",
    "sigmoid",
    "softmax",
    "softplus",
    "train",
    "train_elbo",
    "train_test_split",
]
