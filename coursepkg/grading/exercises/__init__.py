"""The checks of the course's exercises, one module per chapter (see ``definition.py``).

Importing this package registers every definition. The modules hold inputs, calls and
comparisons only, never a solution: the hidden checks compare with what the instructor's notebook
computes on the same inputs, and the visible checks with finite differences, the package's own
modules or known values.
"""

from . import (  # noqa: F401
    ch01_perceptron,
    ch02_networks,
    ch03_backpropagation,
    ch04_training_mlps,
    ch05_regularization,
    ch06_convolutional_networks,
    ch07_mixture_density_networks,
    ch08_bayesian_neural_networks,
    ch09_automatic_differentiation,
    examples,
)
