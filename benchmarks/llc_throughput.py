"""LLC throughput: devrl's vectorized chains vs devinterp.slt.llc.llc() on the same problem.

Same model (the maze policy: devrl.agents.ActorCritic if importable, else a conv
actor-critic stand-in of ~31k parameters on [3, 9, 9] observations with 4 logits),
same data (random maze-like states, actions sampled from the policy itself: action
likelihood), same chains, draws, batch size and SGLD hyperparameters. Reports
chain-steps per second for both, both estimates, and the ceiling: forward+backward
of the same batches alone (one chain after another with the plain module, and all
chains at once with the vmapped functional model), without any sampler.

Fair timing: both samplers get one untimed warm-up call and the same number of timed
repeats, each timed as the wall time of one public call (init-loss pass included: devinterp
computes one too), each on a fresh copy of the same network; the min and median of each side
are reported, and the speed-up is taken min to min.

    python benchmarks/llc_throughput.py [--chains 4 --draws 200 --batch-size 64 --repeats 3]
    python benchmarks/llc_throughput.py --quick    # 50 draws, n = 2048: a minute

Single thread (torch.set_num_threads(1)), CPU, as everywhere in devrl.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import warnings

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from devrl.llc import classification_data, estimate


class _ConvActorCritic(nn.Module):
    """Stand-in for the maze policy: conv trunk, policy logits and value heads."""

    def __init__(self, channels: int = 16, hidden: int = 32, n_actions: int = 4):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1),
            nn.ReLU(),  # [B, 16, 9, 9]
            nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1),
            nn.ReLU(),  # [B, 32, 5, 5]
            nn.Flatten(),
            nn.Linear(2 * channels * 25, hidden),
            nn.ReLU(),  # [B, 32]
        )
        self.policy = nn.Linear(hidden, n_actions)
        self.value = nn.Linear(hidden, 1)

    def forward(self, obs: torch.Tensor):
        h = self.trunk(obs.float())
        return self.policy(h), self.value(h).squeeze(-1)


def _make_actor_critic_vmap_safe() -> None:
    """ActorCritic converts inputs to channels-last, which torch.func.vmap cannot do on a
    batched tensor; skip the conversion for vmapped inputs (values are unchanged)."""
    try:
        from devrl.agents import network
    except ImportError:
        return
    original = network._to_input

    def to_input(obs):
        if torch._C._functorch.is_batchedtensor(obs):
            return obs.float()
        return original(obs)

    network._to_input = to_input


def make_problem(n: int, seed: int = 0):
    """The policy under test and an action-likelihood dataset of random maze-like states."""
    torch.manual_seed(seed)
    try:
        from devrl.agents import ActorCritic

        model, name = ActorCritic(), "devrl.agents.ActorCritic"
    except ImportError:
        model, name = _ConvActorCritic(), "conv stand-in (devrl.agents.ActorCritic missing)"
    g = torch.Generator().manual_seed(seed)
    obs = torch.rand(n, 3, 9, 9, generator=g) < torch.tensor([0.4, 0.0, 0.0]).view(1, 3, 1, 1)
    obs = obs.to(torch.uint8)
    rows = torch.arange(n)
    obs[rows, 1, torch.randint(9, (n,), generator=g), torch.randint(9, (n,), generator=g)] = 1
    obs[rows, 2, torch.randint(9, (n,), generator=g), torch.randint(9, (n,), generator=g)] = 1
    with torch.no_grad():
        logits = model(obs)[0]
        actions = torch.multinomial(torch.softmax(logits, -1), 1, generator=g).squeeze(1)
    return model, classification_data(obs, actions), name


def run_devrl(model, data, hp, chains, draws, batch_size, seed):
    """devrl.llc.estimate on a copy of the model: (λ̂ mean, std over chains, wall seconds)."""
    model = copy.deepcopy(model)
    t = time.perf_counter()
    res = estimate(
        model,
        data,
        **hp,
        chains=chains,
        draws=draws,
        burnin=0,
        batch_size=batch_size,
        seed=seed,
        progress=False,
    )
    return res.mean, res.std, time.perf_counter() - t, res


def run_devinterp(model, data, hp, chains, draws, batch_size, seed):
    """devinterp.slt.llc.llc() fed through its loss_fn: sample indices ride in input_ids.

    Runs on a copy of the model: (λ̂ mean, std over chains, wall seconds)."""
    from datasets import Dataset
    from devinterp.slt.llc import llc

    model = copy.deepcopy(model)

    def loss_fn(m, input_ids):
        return data.loss(m, data.batch(input_ids[:, 0])).unsqueeze(1)  # [batch, 1]

    ds = Dataset.from_dict({"input_ids": [[i, i] for i in range(data.n)]}).with_format("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        out = llc(
            model,
            ds,
            {},
            lr=hp["lr"],
            n_beta=hp["nbeta"],
            localization=hp["localization"],
            num_chains=chains,
            num_draws=draws,
            batch_size=batch_size,
            num_burnin_steps=0,
            num_init_loss_batches=data.n // batch_size,
            loss_fn=loss_fn,
            device="cpu",
            init_seed=seed,
        )
        seconds = time.perf_counter() - t
    per_chain = out.llc_per_chain.values
    return float(per_chain.mean()), float(per_chain.std(ddof=1)), seconds


def ceiling_sequential(model, data, chains, steps, batch_size):
    """Plain module: forward+backward of one minibatch per chain-step, nothing else."""
    g = torch.Generator().manual_seed(0)
    batches = [data.batch(torch.randint(data.n, (batch_size,), generator=g)) for _ in range(8)]
    t = time.perf_counter()
    for i in range(steps * chains):
        loss = data.loss(model, batches[i % 8]).mean()
        model.zero_grad(set_to_none=True)
        loss.backward()
    return time.perf_counter() - t


def ceiling_vmapped(model, data, chains, steps, batch_size):
    """All chains at once through functional_call+vmap, forward+backward only."""
    names = [k for k, _ in model.named_parameters()]
    stacked = [
        p.detach().unsqueeze(0).repeat(chains, *[1] * p.dim()).requires_grad_()
        for p in model.parameters()
    ]

    def chain_loss(params, batch):
        return data.loss(lambda *a: functional_call(model, params, a), batch)

    f = vmap(chain_loss)
    g = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(8):
        flat = data.batch(torch.randint(data.n, (chains * batch_size,), generator=g))
        batches.append(tuple(x.reshape(chains, batch_size, *x.shape[1:]) for x in flat))
    t = time.perf_counter()
    for i in range(steps):
        loss = f(dict(zip(names, stacked)), batches[i % 8]).mean(1).sum()
        for p in stacked:
            p.grad = None
        loss.backward()
    return time.perf_counter() - t


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--nbeta", type=float, default=None, help="default: batch/ln(batch)")
    ap.add_argument("--localization", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of each sampler")
    ap.add_argument("--quick", action="store_true", help="50 draws, n = 2048")
    ap.add_argument("--skip-devinterp", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--vmap-safe-input",
        action="store_true",
        help="make ActorCritic's channels-last input conversion skip vmapped tensors",
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.draws, args.n = 50, 2048
    torch.set_num_threads(1)

    if args.vmap_safe_input:
        _make_actor_critic_vmap_safe()
    model, data, name = make_problem(args.n, args.seed)
    d = sum(p.numel() for p in model.parameters())
    nbeta = args.nbeta or args.batch_size / np.log(args.batch_size)
    hp = {"lr": args.lr, "nbeta": float(nbeta), "localization": args.localization}
    C, T, B = args.chains, args.draws, args.batch_size
    print(f"model: {name}, d = {d} parameters; data: n = {data.n} action-likelihood samples")
    print(f"chains = {C}, draws = {T}, batch = {B}, burn-in = 0, {hp}")

    # One untimed warm-up call per sampler (the first optimizer construction imports
    # torch._dynamo, ~seconds, once per process), then the same timed repeats for both.
    run_devrl(model, data, hp, C, 5, B, args.seed)
    devrl_runs = [run_devrl(model, data, hp, C, T, B, args.seed) for _ in range(args.repeats)]
    best = devrl_runs[0][3]  # the same seed gives the same chains every repeat
    wall = np.array([r[2] for r in devrl_runs])
    out = {
        "model": name,
        "d": d,
        "chains": C,
        "draws": T,
        "batch_size": B,
        "repeats": args.repeats,
        **hp,
        "devrl_llc": best.mean,
        "devrl_llc_std": best.std,
        "devrl_wall_s_min": float(wall.min()),
        "devrl_wall_s_median": float(np.median(wall)),
        "devrl_chain_steps_per_s": C * T / float(wall.min()),
        "devrl_chain_steps_per_s_median": C * T / float(np.median(wall)),
        "devrl_rhat": best.rhat,
        # the sampling loop alone (no init-loss pass), to compare with the fwd+bwd ceilings
        "devrl_loop_chain_steps_per_s": C * T / min(r[3].seconds for r in devrl_runs),
    }
    seq = min(ceiling_sequential(model, data, C, T, B) for _ in range(args.repeats))
    try:
        vec = min(ceiling_vmapped(model, data, C, T, B) for _ in range(args.repeats))
    except RuntimeError:  # model not vmap-safe: estimate() fell back to a loop over chains
        vec = float("inf")
    out["devrl_vectorize"] = best.config["vectorize"]
    out["ceiling_sequential_chain_steps_per_s"] = C * T / seq
    out["ceiling_vmapped_chain_steps_per_s"] = C * T / vec
    out["fraction_of_ceiling"] = out["devrl_loop_chain_steps_per_s"] / max(
        out["ceiling_sequential_chain_steps_per_s"], out["ceiling_vmapped_chain_steps_per_s"]
    )
    if not args.skip_devinterp:
        run_devinterp(model, data, hp, C, 5, B, args.seed)
        di_runs = [run_devinterp(model, data, hp, C, T, B, args.seed) for _ in range(args.repeats)]
        mean, std, _ = di_runs[0]
        di_wall = np.array([r[2] for r in di_runs])
        out.update(
            {
                "devinterp_llc": mean,
                "devinterp_llc_std": std,
                "devinterp_wall_s_min": float(di_wall.min()),
                "devinterp_wall_s_median": float(np.median(di_wall)),
                "devinterp_chain_steps_per_s": C * T / float(di_wall.min()),
                "devinterp_chain_steps_per_s_median": C * T / float(np.median(di_wall)),
            }
        )
        out["speedup_vs_devinterp"] = (
            out["devrl_chain_steps_per_s"] / out["devinterp_chain_steps_per_s"]
        )
        se = np.hypot(best.std, std) / np.sqrt(C)
        out["estimates_agree_2se"] = bool(abs(best.mean - mean) <= 2 * se)

    print(
        f"devrl      : λ̂ = {best.mean:.3f} ± {best.std:.3f}  "
        f"{out['devrl_chain_steps_per_s']:.0f} chain-steps/s  (wall min "
        f"{out['devrl_wall_s_min']:.2f} s, median {out['devrl_wall_s_median']:.2f} s "
        f"of {args.repeats})"
    )
    if "devinterp_llc" in out:
        print(
            f"devinterp  : λ̂ = {out['devinterp_llc']:.3f} ± {out['devinterp_llc_std']:.3f}  "
            f"{out['devinterp_chain_steps_per_s']:.0f} chain-steps/s  (wall min "
            f"{out['devinterp_wall_s_min']:.2f} s, median {out['devinterp_wall_s_median']:.2f} s "
            f"of {args.repeats})"
        )
        print(
            f"speed-up   : {out['speedup_vs_devinterp']:.1f}x (min vs min; median vs median "
            f"{out['devinterp_wall_s_median'] / out['devrl_wall_s_median']:.1f}x); "
            "estimates agree within 2 SE: "
            f"{out['estimates_agree_2se']}"
        )
    print(
        f"ceiling    : {out['ceiling_sequential_chain_steps_per_s']:.0f} chain-steps/s "
        f"(plain fwd+bwd, chain after chain), {out['ceiling_vmapped_chain_steps_per_s']:.0f} "
        f"(vmapped fwd+bwd); devrl's sampling loop reaches {out['fraction_of_ceiling']:.0%} of the "
        "faster"
    )
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
