"""PPO throughput: devrl vs Stable-Baselines3 on the same maze, network and settings.

What is compared (one torch thread each, run one after the other in this process):

* **devrl**: ``devrl.agents.train`` (batched numpy ``MazeVecEnv``), writing a run
  directory with the minimum number of checkpoints. All three sides build the trunk
  with the same ``--readout-plane`` (default none), and the parameter counts of the
  network devrl trained, SB3's policy and the ceiling's network are asserted equal.
* **SB3**: ``stable_baselines3.PPO`` on a ``DummyVecEnv`` of single ``devrl/Maze-v0``
  envs (SB3's own vectorisation), with devrl's ``Trunk`` as the features extractor and
  ``net_arch=[]``, so the heads are the same ``Linear(hidden, 4)`` / ``Linear(hidden, 1)``
  and the parameter counts match (printed). Same rollout length, number of envs,
  minibatch size, epochs, discount, GAE, clipping (incl. the value clip), entropy and
  value coefficients, grad-norm clip, Adam eps and linear learning-rate annealing.
* **ceiling**: the network's own forward + backward passes for the same samples,
  nothing else: per update, ``num_steps`` no-grad forwards on ``num_envs`` observations
  (acting) plus ``epochs x minibatches`` forward+backward passes on minibatches. The
  same plus Adam steps and grad clipping is printed too.

Timing: seconds per PPO update (rollout + optimisation), steady state. This machine is
shared, so every quantity is measured in each of ``--repeats`` interleaved rounds and
the fastest update is kept (the least-disturbed estimate, the same rule for all).
End-to-end wall time (setup, checkpoint writes) is printed alongside. A breakdown of
devrl's update (env stepping, acting, GAE, optimisation), each piece timed alone, says
where the time goes.

Run: ``python benchmarks/ppo_throughput.py`` (a few minutes on a busy machine),
``--quick`` for a smoke run. Targets: devrl >= 2x SB3 and >= 60% of the ceiling.

Measured 2026-11-21, before the sides were made equal (devrl then trained its default
readout, 23,165 parameters, against 22,909 for SB3 and the ceiling; defaults: 9x9, 64
envs x 64 steps, 8 minibatches x 4 epochs, channels 8, hidden 32; 2-core machine, one
other job running):
devrl 8858 steps/s, SB3 7099 steps/s (1.25x, target 2x: missed); ceiling fwd+bwd
10459 steps/s, so devrl runs at 85% of it (95% counting Adam + clipping). The
network's minibatch forward+backward is 77% of devrl's update; env stepping is 0.3%.
Because SB3 runs the same network, even a perfect devrl could be at most 1.31x SB3 at
these settings; devrl's lead is in the acting phase (2.9x: one batched numpy env vs
64 single envs), a small share of a PPO update.

Re-measured with all sides at 22,909 parameters (defaults, but the 2-core machine at a
load average near 8, so the timings are noisy: devrl came out above its own ceiling):
devrl 5871 steps/s, SB3 3474 (1.69x), ceiling fwd+bwd 5381; acting phase 5.4x SB3.
Rerun on a quiet machine before quoting these.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
import torch
from torch import nn


def _settings(args: argparse.Namespace) -> dict:
    return {
        "size": args.size,
        "corner": 1,
        "num_envs": args.num_envs,
        "num_steps": args.num_steps,
        "num_minibatches": args.minibatches,
        "update_epochs": args.epochs,
        "total_timesteps": args.updates * args.num_envs * args.num_steps,
        "lr": 1e-3,
        "anneal_lr": True,
        "gamma": 0.95,
        "gae_lambda": 0.95,
        "clip_coef": 0.2,
        "clip_vloss": True,
        "ent_coef": 0.01,
        "vf_coef": 0.5,
        "max_grad_norm": 0.5,
        "channels": args.channels,
        "hidden": args.hidden,
        "readout_plane": args.readout_plane,
        "checkpoints": 2,
        "seed": 0,
    }


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


# ----------------------------------------------------------------------------- devrl


def run_devrl(cfg: dict) -> dict:
    """Train with devrl; seconds per update from its own ``charts/SPS`` metric."""
    from devrl.agents import train

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = train(cfg, f"{tmp}/run", resume=False)
        wall = time.perf_counter() - t0
        sps = run.metrics["charts/SPS"].to_numpy()
        params = run.policy(run.steps[-1]).num_parameters()
    return {"per_update": cfg["num_envs"] * cfg["num_steps"] / sps, "wall": wall, "params": params}


def devrl_acting(cfg: dict, repeats: int) -> float:
    """Seconds for one rollout phase of devrl's PPO loop (act, step, store), timed alone."""
    from devrl.agents import ActorCritic
    from devrl.agents.ppo import sample_actions
    from devrl.envs import MazeVecEnv

    N, T = cfg["num_envs"], cfg["num_steps"]
    env = MazeVecEnv(N, size=cfg["size"], corner=cfg["corner"], seed=0)
    shape = env.single_observation_space.shape
    net = ActorCritic(
        shape, 4, channels=cfg["channels"], hidden=cfg["hidden"], readout_plane=cfg["readout_plane"]
    )
    gen = torch.Generator().manual_seed(0)
    obs = torch.zeros((T, N, *shape), dtype=torch.uint8)
    acts, logps, vals, rews, dones = (torch.zeros((T, N)) for _ in range(5))
    state = {"obs": torch.as_tensor(env.reset(seed=0)[0])}

    def rollout():
        for t in range(T):
            obs[t] = state["obs"]
            with torch.no_grad():
                a, logp, v = sample_actions(net, state["obs"], gen)
            acts[t], logps[t], vals[t] = a, logp, v
            o, r, term, trunc, _ = env.step(a.numpy())
            rews[t] = torch.as_tensor(r)
            dones[t] = torch.as_tensor(term | trunc, dtype=torch.float32)
            state["obs"] = torch.as_tensor(o)

    return _best(rollout, repeats)


# ----------------------------------------------------------------------------- SB3


def run_sb3(cfg: dict) -> dict:
    """Train with SB3 PPO on a DummyVecEnv of single mazes; per-iteration timings."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from devrl.agents.network import Trunk
    from devrl.envs import MazeEnv

    class DevrlTrunk(BaseFeaturesExtractor):
        """devrl's conv trunk (conv, conv, residual block, dense) as SB3 features."""

        def __init__(self, observation_space, channels: int, hidden: int, readout_plane):
            super().__init__(observation_space, features_dim=hidden)
            self.trunk = Trunk(observation_space.shape, channels, hidden, readout_plane)

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            return self.trunk(obs)

    class Timer(BaseCallback):
        def __init__(self):
            super().__init__()
            self.starts: list[float] = []
            self.ends: list[float] = []

        def _on_rollout_start(self) -> None:
            self.starts.append(time.perf_counter())

        def _on_rollout_end(self) -> None:
            self.ends.append(time.perf_counter())

        def _on_step(self) -> bool:
            return True

        def _on_training_end(self) -> None:
            self.starts.append(time.perf_counter())

    t0 = time.perf_counter()
    env = DummyVecEnv(
        [lambda: MazeEnv(size=cfg["size"], corner=cfg["corner"]) for _ in range(cfg["num_envs"])]
    )
    batch = cfg["num_envs"] * cfg["num_steps"]
    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=lambda progress: progress * cfg["lr"],
        n_steps=cfg["num_steps"],
        batch_size=batch // cfg["num_minibatches"],
        n_epochs=cfg["update_epochs"],
        gamma=cfg["gamma"],
        gae_lambda=cfg["gae_lambda"],
        clip_range=cfg["clip_coef"],
        clip_range_vf=cfg["clip_coef"],
        normalize_advantage=True,
        ent_coef=cfg["ent_coef"],
        vf_coef=cfg["vf_coef"],
        max_grad_norm=cfg["max_grad_norm"],
        policy_kwargs={
            "features_extractor_class": DevrlTrunk,
            "features_extractor_kwargs": {
                "channels": cfg["channels"],
                "hidden": cfg["hidden"],
                "readout_plane": cfg["readout_plane"],
            },
            "net_arch": [],
            "normalize_images": False,
        },
        seed=cfg["seed"],
        device="cpu",
        verbose=0,
    )
    timer = Timer()
    model.learn(total_timesteps=cfg["total_timesteps"], callback=timer)
    wall = time.perf_counter() - t0
    starts = np.array(timer.starts)
    return {
        "per_update": np.diff(starts),  # [updates] rollout + optimisation
        "acting": np.array(timer.ends) - starts[:-1],  # [updates] rollout only
        "wall": wall,
        "params": sum(p.numel() for p in model.policy.parameters()),
    }


# ----------------------------------------------------------------------------- ceiling


def network_and_parts(cfg: dict, repeats: int) -> dict:
    """Seconds per update of the network work alone, and of devrl's other pieces alone."""
    from devrl.agents import ActorCritic, compute_gae
    from devrl.envs import MazeVecEnv

    N, T, E = cfg["num_envs"], cfg["num_steps"], cfg["update_epochs"]
    mb = N * T // cfg["num_minibatches"]
    env = MazeVecEnv(N, size=cfg["size"], corner=cfg["corner"], seed=0)
    shape = env.single_observation_space.shape
    torch.manual_seed(0)
    net = ActorCritic(
        shape, 4, channels=cfg["channels"], hidden=cfg["hidden"], readout_plane=cfg["readout_plane"]
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, eps=1e-5)
    obs = torch.as_tensor(env.reset(seed=0)[0])  # [N, 3, S, S]
    batch = torch.as_tensor(np.stack([env.step(np.random.randint(0, 4, N))[0] for _ in range(T)]))
    batch = batch.reshape(-1, *shape)  # [T * N, 3, S, S]
    actions = torch.randint(0, 4, (N * T,))
    target = torch.randn(N * T)
    rng = np.random.default_rng(0)

    def act():
        with torch.no_grad():
            for _ in range(T):
                net(obs)

    def learn(step: bool):
        for _ in range(E):
            perm = torch.from_numpy(rng.permutation(N * T))
            for i in range(0, N * T, mb):
                idx = perm[i : i + mb]
                logits, value = net(batch[idx])
                logp = torch.log_softmax(logits, -1).gather(1, actions[idx, None])
                loss = -logp.mean() + ((value - target[idx]) ** 2).mean()
                if step:
                    opt.zero_grad()
                loss.backward()
                if step:
                    nn.utils.clip_grad_norm_(net.parameters(), 0.5)
                    opt.step()

    def env_steps():
        for _ in range(T):
            env.step(np.random.randint(0, 4, N))

    r, v, d = torch.rand(T, N), torch.rand(T, N), (torch.rand(T, N) < 0.05).float()
    return {
        "act": _best(act, repeats),
        "fwd_bwd": _best(lambda: learn(False), repeats),
        "fwd_bwd_adam": _best(lambda: learn(True), repeats),
        "env": _best(env_steps, repeats),
        "gae": _best(lambda: compute_gae(r, v, d, v[-1], d[-1], 0.95, 0.95), repeats),
        "acting_loop": devrl_acting(cfg, repeats),
        "params": sum(p.numel() for p in net.parameters()),
    }


def single_env_step_time(cfg: dict) -> float:
    """Seconds per ``MazeEnv.step`` (what each of SB3's DummyVecEnv copies costs)."""
    from devrl.envs import MazeEnv

    env = MazeEnv(size=cfg["size"], corner=cfg["corner"])
    env.reset(seed=0)
    acts = np.random.default_rng(0).integers(0, 4, 2000)
    t0 = time.perf_counter()
    for a in acts:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    return (time.perf_counter() - t0) / len(acts)


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=9)
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--num-steps", type=int, default=64)
    p.add_argument("--minibatches", type=int, default=8)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument(
        "--readout-plane",
        type=lambda text: None if text.lower() == "none" else int(text),
        default=None,
        help="the trunk's readout plane on every side (1 = mouse; default none: plain flatten)",
    )
    p.add_argument("--updates", type=int, default=4, help="PPO updates per timed run")
    p.add_argument("--repeats", type=int, default=2, help="interleaved rounds; fastest is kept")
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = p.parse_args(argv)
    if args.quick:
        args.num_envs, args.num_steps, args.updates, args.repeats = 8, 16, 2, 1
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    cfg = _settings(args)
    batch = args.num_envs * args.num_steps
    print(
        f"maze {args.size}x{args.size}, {args.num_envs} envs x {args.num_steps} steps = "
        f"{batch} samples per update, {args.minibatches} minibatches x {args.epochs} epochs, "
        f"{args.updates} updates per run, {args.repeats} rounds; torch threads = 1"
    )

    # Warm-up: first calls pay one-time imports and allocator/kernel initialisation.
    warm = dict(cfg, num_envs=4, num_steps=8, num_minibatches=4, total_timesteps=32)
    run_devrl(warm)
    run_sb3(warm)
    dv_runs, sb_runs, parts_runs = [], [], []
    for _ in range(args.repeats):  # interleaved, so machine load hits all alike
        dv_runs.append(run_devrl(cfg))
        sb_runs.append(run_sb3(cfg))
        parts_runs.append(network_and_parts(cfg, repeats=2))
    dv_t = min(float(r["per_update"].min()) for r in dv_runs)
    sb_t = min(float(r["per_update"].min()) for r in sb_runs)
    sb_act = min(float(r["acting"].min()) for r in sb_runs)
    c = {k: min(r[k] for r in parts_runs) for k in parts_runs[0]}
    ceil_t = c["act"] + c["fwd_bwd"]
    ceil_adam_t = c["act"] + c["fwd_bwd_adam"]
    single = single_env_step_time(cfg)

    params = {
        "devrl (trained)": dv_runs[0]["params"],
        "SB3": sb_runs[0]["params"],
        "ceiling": c["params"],
    }
    print("\nparameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items()))
    if len(set(params.values())) != 1:
        raise AssertionError(f"the sides train different networks: {params}")
    print(f"{'':26}{'steps/s':>9}{'s/update':>10}{'acting s':>10}{'end-to-end s':>14}")
    rows = [
        ("devrl PPO", dv_t, c["acting_loop"], min(r["wall"] for r in dv_runs)),
        ("SB3 PPO (DummyVecEnv)", sb_t, sb_act, min(r["wall"] for r in sb_runs)),
    ]
    for name, t, acting, wall in rows:
        print(f"{name:26}{batch / t:>9.0f}{t:>10.3f}{acting:>10.3f}{wall:>14.2f}")
    print(f"{'ceiling: fwd+bwd':26}{batch / ceil_t:>9.0f}{ceil_t:>10.3f}{c['act']:>10.3f}")
    print(f"{'ceiling: fwd+bwd+Adam':26}{batch / ceil_adam_t:>9.0f}{ceil_adam_t:>10.3f}")
    print(f"\ndevrl / SB3 = {sb_t / dv_t:.2f}x   (target >= 2x)")
    print(
        f"devrl / ceiling(fwd+bwd) = {ceil_t / dv_t:.0%}   (target >= 60%); "
        f"with Adam + grad clip in the ceiling: {ceil_adam_t / dv_t:.0%}"
    )
    print(
        f"bound: even at 100% of the fwd+bwd+Adam ceiling devrl could be at most "
        f"{sb_t / ceil_adam_t:.2f}x SB3 here, since SB3 runs the same network"
    )
    print(
        f"acting phase alone (collect {batch} steps): devrl {c['acting_loop']:.3f} s, "
        f"SB3 {sb_act:.3f} s -> {sb_act / c['acting_loop']:.1f}x"
    )
    print("\nwhere devrl's update time goes (each piece timed alone, s/update):")
    parts = {
        "acting forwards": c["act"],
        "sampling + stores": c["acting_loop"] - c["act"] - c["env"],
        "env stepping (MazeVecEnv)": c["env"],
        "GAE": c["gae"],
        "minibatch fwd+bwd": c["fwd_bwd"],
        "Adam + grad clip": c["fwd_bwd_adam"] - c["fwd_bwd"],
    }
    for name, t in parts.items():
        print(f"  {name:28}{t:8.3f}  {t / dv_t:6.1%}")
    rest = dv_t - sum(parts.values())
    print(f"  {'rest (PPO loss ops etc.)':28}{rest:8.3f}  {rest / dv_t:6.1%}")
    print(
        f"\nSB3 env cost: {args.num_envs} single MazeEnv copies at {single * 1e6:.0f} us per step "
        f"= {single * batch:.3f} s/update ({single * batch / sb_t:.0%} of SB3's update)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
