"""Published toy configurations, as ``TrainConfig`` overrides (flags typed after override them).

``wgan-gp-toy``: Gulrajani et al.'s ``gan_toy.py`` (WGAN-GP code): 8gaussians, noise dim 2,
generator and critic with 3 ReLU hidden layers of 512, batch 256, 5 critic iterations, lambda 0.1
(the toy script's value, not the paper's 10), Adam 1e-4 betas (0.5, 0.9), 100,000 generator
iterations.

``unrolled``: Metz et al. 2017 (Unrolled GAN), 2D ring experiment: ring of 8 Gaussians with radius
2 and std 0.02, latent dimension 256, generator and critic with 2 tanh hidden layers of 128, Adam
with critic lr 1e-4 and generator lr 1e-3, beta1 0.5, batch 512, BCE. Without unrolling it
collapses or hops between modes.

``pacgan``: Lin et al. 2018 (PacGAN), 2D experiments: ring of 8 Gaussians with radius 1 and std
0.01 (``--data grid-pacgan`` for the 5x5 grid), 2-D Gaussian noise, generator with 4 ReLU hidden
layers of 400 and BatchNorm, critic with 3 maxout(5) hidden layers of 200, BCE, Adam lr 1e-4 with
beta1 0.8, batch 100. ``--pack 2`` (or 3, 4) gives PacGAN2 (3, 4). The number of steps is ours.
"""

PRESETS: dict[str, dict] = {
    "wgan-gp-toy": dict(
        loss="wgan-gp", data="8gaussians", z_dim=2,
        g_depth=3, g_width=512, d_depth=3, d_width=512, activation="relu",
        batch_size=256, n_critic=5, gp_weight=0.1, lr=1e-4, lr_decay="none", betas=(0.5, 0.9),
        steps=100_000,
    ),
    "pacgan": dict(
        loss="bce", data="ring-pacgan", z_dim=2,
        g_depth=4, g_width=400, g_batchnorm=True, d_depth=3, d_width=200, d_activation="maxout",
        batch_size=100, n_critic=1, lr=1e-4, betas=(0.8, 0.999), lr_decay="none",
        snapshot_points=500, steps=20_000,
    ),
    "unrolled": dict(
        loss="bce", data="ring-unrolled", z_dim=256,
        g_depth=2, g_width=128, d_depth=2, d_width=128, activation="tanh",
        batch_size=512, n_critic=1, lr=None, lr_d=1e-4, lr_g=1e-3, betas=(0.5, 0.999),
        lr_decay="none", steps=25_000,
    ),
}
