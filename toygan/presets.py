"""Published toy configurations, as ``TrainConfig`` overrides (flags typed after override them).

``wgan-gp-toy``: Gulrajani et al.'s ``gan_toy.py`` (WGAN-GP code): 8gaussians, noise dim 2,
generator and critic with 3 ReLU hidden layers of 512, batch 256, 5 critic iterations, lambda 0.1
(the toy script's value, not the paper's 10), Adam 1e-4 betas (0.5, 0.9), 100,000 generator
iterations.
"""

PRESETS: dict[str, dict] = {
    "wgan-gp-toy": dict(
        loss="wgan-gp", data="8gaussians", z_dim=2,
        g_depth=3, g_width=512, d_depth=3, d_width=512, activation="relu",
        batch_size=256, n_critic=5, gp_weight=0.1, lr=1e-4, betas=(0.5, 0.9),
        steps=100_000,
    ),
}
