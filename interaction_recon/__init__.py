"""interaction_recon: live 3D reconstruction of two people in close contact."""

__version__ = "0.1.0"
