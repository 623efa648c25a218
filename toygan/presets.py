"""Named toy configurations, as ``TrainConfig`` overrides (flags typed after override them).

``toy2d`` (the default of ``toygan.train``): lr 1e-3 for both players, decayed linearly to 0 over
the run (the WGAN-GP reference code's schedule), penalty weight lambda = 1; everything else from
the objective. The papers' learning rates and lambda = 10 are tuned for images: on 8gaussians
lambda 10 at lr 1e-3 never puts samples within 3 std of a mode, and at lr 3e-4 reaches only ~50%
high-quality samples in 3000 steps (BENCHMARKS.md). ``--preset none`` uses the published values.

``slides``: what ``toygan.animate`` trains — ``toy2d`` with 3x128 MLPs on the 8-mode ring, 1200
steps, critic lr 2e-4 against generator lr 1e-3. ``study``: the same at batch 128 and 1000 steps,
what ``toygan.compare`` trains by default.

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
beta1 0.8, batch 100; the generator is evaluated with Blocks' population statistics (running
mean and standard deviation, momentum 0.05, eps 1e-4: ``--g-bn-stats blocks``). ``--pack 2``
(or 3, 4) gives PacGAN2 (3, 4). The number of steps is ours.
Its released training loop adds ``--update simultaneous --train-set 100000`` (what
``toygan.reproduce pacgan-ring`` trains with).

``veegan``: Srivastava et al. 2017 (VEEGAN), its released 2D notebook: ring of 8 Gaussians with
radius 1 and std 0.01, 255-dim Gaussian noise (254 + 1 dims there), generator with 2 ReLU hidden
layers of 128, critic with 1 ReLU hidden layer of 128, Glorot-uniform weights, Adam 1e-3 with
beta1 0.5 for both players, batch 500, both players updated at once from the same weights,
100,000 iterations (100 epochs of 1,000 batches), BCE.
"""

PRESETS: dict[str, dict] = {
    # toygan's default: the objectives' optimisers, betas and n_critic, with a learning rate and
    # penalty weight that suit 2D points (the papers' values are tuned for images; measured in
    # BENCHMARKS.md). `--preset none` trains with the objective's published values.
    "toy2d": dict(lr=1e-3, lr_decay="linear", gp_weight=1.0),
    # The slide configuration (toygan.animate): toy2d with 3x128 MLPs, 1200 steps and a critic
    # that learns 5x slower than its generator, the imbalance of the Unrolled-GAN paper's 2D
    # experiment: BCE collapses, WGAN-GP keeps every mode (figures/ring-*.gif, tested).
    "slides": dict(lr=None, lr_d=2e-4, lr_g=1e-3, lr_decay="linear", gp_weight=1.0, data="ring",
                   steps=1200, g_width=128, d_width=128, eval_every=50, log_every=10),
    # The mode-collapse study (toygan.compare): the slide configuration at batch 128, 1000 steps.
    "study": dict(lr=None, lr_d=2e-4, lr_g=1e-3, lr_decay="linear", gp_weight=1.0, data="ring",
                  steps=1000, g_width=128, d_width=128, eval_every=50, log_every=10,
                  batch_size=128),
    "wgan-gp-toy": dict(
        loss="wgan-gp", data="8gaussians", z_dim=2,
        g_depth=3, g_width=512, d_depth=3, d_width=512, activation="relu",
        batch_size=256, n_critic=5, gp_weight=0.1, lr=1e-4, lr_decay="none", betas=(0.5, 0.9),
        steps=100_000,
    ),
    "pacgan": dict(
        loss="bce", data="ring-pacgan", z_dim=2,
        g_depth=4, g_width=400, g_batchnorm=True, g_bn_stats="blocks", d_depth=3, d_width=200,
        d_activation="maxout",
        batch_size=100, n_critic=1, lr=1e-4, betas=(0.8, 0.999), lr_decay="none",
        snapshot_points=500, steps=20_000,
    ),
    "unrolled": dict(
        loss="bce", data="ring-unrolled", z_dim=256,
        g_depth=2, g_width=128, d_depth=2, d_width=128, activation="tanh",
        batch_size=512, n_critic=1, lr=None, lr_d=1e-4, lr_g=1e-3, betas=(0.5, 0.999),
        lr_decay="none", steps=25_000,
    ),
    "veegan": dict(
        loss="bce", data="ring-pacgan", z_dim=255,
        g_depth=2, g_width=128, d_depth=1, d_width=128, activation="relu", init="xavier",
        batch_size=500, n_critic=1, lr=1e-3, betas=(0.5, 0.999), lr_decay="none",
        update="simultaneous", steps=100_000,
    ),
}

# What the live page (toygan.view --live) trains and its lessons (toygan.lessons) were made with:
# the slide configuration, run until stopped (no learning-rate decay), snapshots sized for a poll.
LIVE = dict(PRESETS["slides"], preset="slides", steps=100_000, lr_decay="none",
            snapshot_points=256, grid_res=48, eval_samples=1000)
