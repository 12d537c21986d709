"""f-AnoGAN's encoder objectives and anomaly score (Schlegl et al. 2019, section 2.3).

``izi`` trains E so that G(E(x)) reproduces x; ``ziz`` so that E(G(z))
recovers z; ``izif`` (the paper's best) adds to ``izi`` the distance of the
critic's features of x and G(E(x)), weighted by kappa. The anomaly score is
the ``izif`` loss per image: image MSE + kappa * feature MSE.

    loss = encoder_loss("izif", encoder, generator, critic, x, z, kappa=1.0)
    scores = izif_distance(critic, x, generator(encoder(x)), kappa=1.0)   # [N]
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

EncoderTraining = Literal["izif", "izi", "ziz"]


def izif_distance(critic: nn.Module, x: Tensor, x_hat: Tensor, kappa: float) -> Tensor:
    """Per image [N]: mean (x - x_hat)^2 + kappa * mean (f(x) - f(x_hat))^2."""
    image = (x - x_hat).pow(2).flatten(1).mean(1)
    if kappa == 0:
        return image
    features = (critic.features(x) - critic.features(x_hat)).pow(2).mean(1)
    return image + kappa * features


def encoder_loss(
    training: EncoderTraining, encoder: nn.Module, generator: nn.Module, critic: nn.Module, x: Tensor, z: Tensor, kappa: float
) -> Tensor:
    """The batch loss of one encoder update; ``z`` [N, latent] is used by ``ziz`` only."""
    if training == "ziz":
        return (z - encoder(generator(z))).pow(2).mean()
    x_hat = generator(encoder(x))
    return izif_distance(critic, x, x_hat, kappa if training == "izif" else 0.0).mean()
