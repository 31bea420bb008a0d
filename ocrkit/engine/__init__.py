"""The numpy network engine: layers, activations, losses, optimisers, Sequential network and
gradient check. No file I/O, no plotting, no click."""
from ocrkit.engine.gradcheck import check_gradients
from ocrkit.engine.layers import ACTIVATIONS, Dense, Flatten, ReLU, Sigmoid, Softmax, Tanh, softmax
from ocrkit.engine.losses import LOSSES, SoftmaxCrossEntropy, SquaredError
from ocrkit.engine.network import Network
from ocrkit.engine.optim import OPTIMIZERS, SCHEDULES, Adam, Momentum, SGD, make_optimizer, schedule_lr

__all__ = [
    "ACTIVATIONS", "Adam", "Dense", "Flatten", "LOSSES", "Momentum", "Network", "OPTIMIZERS",
    "ReLU", "SCHEDULES", "SGD", "Sigmoid", "Softmax", "SoftmaxCrossEntropy", "SquaredError",
    "Tanh", "check_gradients", "make_optimizer", "schedule_lr", "softmax",
]
