"""Shared layers (``blocks``) and adversarial loss functions (``losses``)."""
