"""Small CNNs on per-clip normalised log-mel (cached by cache_features.py), trained in torch on CPU.

Usage:
    nice -n 10 python experiments/cnn.py --arch cnn1d --epochs 40 --tag cnn1d_base
    nice -n 10 python experiments/cnn.py --arch cnn1d --protocol random --tag cnn1d_random
Options switch the per-clip normalisation and each augmentation, so every row of
results/accuracy.md is one command. Out-of-fold probabilities go to $SER5_CACHE/oof_<tag>.npy.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE_DIR, grouped_folds, random_split, scores, summarize  # noqa: E402


def load_logmel(time_pool):
    """Return the list of (frames, 64) log-mel arrays, optionally averaged over time_pool frames."""
    flat = np.load(CACHE_DIR / "logmel.npy")
    lengths = np.load(CACHE_DIR / "logmel_len.npy")
    mats = np.split(flat, np.cumsum(lengths)[:-1])
    if time_pool > 1:
        mats = [m[: len(m) // time_pool * time_pool].reshape(-1, time_pool, m.shape[1]).mean(axis=1) for m in mats]
    return mats


def normalise(m, mode):
    """Single-clip normalisation of one (frames, mels) log-mel matrix."""
    if mode == "global":
        return (m - m.mean()) / (m.std() + 1e-5)
    if mode == "cmn":
        return (m - m.mean(axis=0, keepdims=True)) / (m.std() + 1e-5)
    if mode == "cmvn":
        return (m - m.mean(axis=0, keepdims=True)) / (m.std(axis=0, keepdims=True) + 1e-5)
    raise ValueError(mode)


def build(arch, n_mels, n_classes, width, dropout):
    """Build the torch module for one architecture name."""
    import torch
    from torch import nn

    class StatsPool(nn.Module):
        def forward(self, h, mask):
            # h: (B, C, T); mask: (B, 1, T) with 1 on valid frames.
            n = mask.sum(dim=2).clamp(min=1.0)
            mean = (h * mask).sum(dim=2) / n
            var = ((h - mean.unsqueeze(2)) ** 2 * mask).sum(dim=2) / n
            return torch.cat([mean, torch.sqrt(var + 1e-5)], dim=1)

    def block1d(cin, cout, k, d):
        return nn.Sequential(nn.Conv1d(cin, cout, k, padding=d * (k // 2), dilation=d), nn.BatchNorm1d(cout), nn.ReLU())

    class CNN1d(nn.Module):
        def __init__(self):
            super().__init__()
            w = width
            self.body = nn.Sequential(block1d(n_mels, w, 5, 1), block1d(w, w, 3, 2), block1d(w, w, 3, 3), block1d(w, 2 * w, 1, 1))
            self.pool = StatsPool()
            self.head = nn.Sequential(nn.Linear(4 * w, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, n_classes))

        def forward(self, x, mask):
            # x: (B, T, F) -> (B, F, T)
            h = self.body(x.transpose(1, 2))
            return self.head(self.pool(h, mask))

    def block2d(cin, cout, pool):
        layers = [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        if pool:
            layers.append(nn.MaxPool2d(2))
        return nn.Sequential(*layers)

    class CNN2d(nn.Module):
        def __init__(self):
            super().__init__()
            w = width // 8
            self.body = nn.Sequential(block2d(1, w, True), block2d(w, 2 * w, True), block2d(2 * w, 4 * w, True), block2d(4 * w, 8 * w, False))
            self.pool = StatsPool()
            self.head = nn.Sequential(nn.Linear(16 * w, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, n_classes))

        def forward(self, x, mask):
            h = self.body(x.unsqueeze(1))  # (B, C, F/8, T/8)
            h = h.mean(dim=2)
            mask = mask[:, :, ::8][:, :, : h.shape[2]]
            return self.head(self.pool(h, mask))

    return {"cnn1d": CNN1d, "cnn2d": CNN2d}[arch]()


def batchify(mats, crop, rng, train, aug):
    """Pad (and for training crop/augment) a list of clips into x (B, T, F) and mask (B, 1, T)."""
    import torch

    out = []
    for m in mats:
        if train and aug["speed"] > 0:
            factor = rng.uniform(1 - aug["speed"], 1 + aug["speed"])
            n_new = max(8, int(round(len(m) / factor)))
            src = np.linspace(0, len(m) - 1, n_new)
            lo = np.floor(src).astype(int)
            hi = np.minimum(lo + 1, len(m) - 1)
            frac = (src - lo)[:, None]
            m = m[lo] * (1 - frac) + m[hi] * frac
        if train and aug["pitch"] > 0:
            shift = int(rng.integers(-aug["pitch"], aug["pitch"] + 1))
            if shift:
                m = np.roll(m, shift, axis=1)
                if shift > 0:
                    m[:, :shift] = m[:, shift:shift + 1]
                else:
                    m[:, shift:] = m[:, shift - 1:shift]
        if train and crop and len(m) > crop:
            start = int(rng.integers(0, len(m) - crop + 1))
            m = m[start:start + crop]
        out.append(m)
    t_max = max(len(m) for m in out)
    x = np.zeros((len(out), t_max, out[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(out), 1, t_max), dtype=np.float32)
    for i, m in enumerate(out):
        x[i, : len(m)] = m
        mask[i, 0, : len(m)] = 1.0
        if train and aug["specaug"]:
            for _ in range(2):
                f = int(rng.integers(0, 9))
                f0 = int(rng.integers(0, x.shape[2] - f + 1))
                x[i, : len(m), f0:f0 + f] = 0.0
                t = int(rng.integers(0, max(1, len(m) // 8)))
                t0 = int(rng.integers(0, max(1, len(m) - t + 1)))
                x[i, t0:t0 + t, :] = 0.0
        if train and aug["noise"] > 0:
            x[i, : len(m)] += aug["noise"] * rng.standard_normal((len(m), x.shape[2])).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(mask)


def train_fold(mats, labels, train_idx, args, seed):
    """Train one network on the given clips; return the fitted module."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build(args.arch, mats[0].shape[1], 8, args.width, args.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = int(np.ceil(len(train_idx) / args.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    aug = {"speed": args.speed, "pitch": args.pitch, "specaug": args.specaug, "noise": args.noise}
    model.train()
    for _ in range(args.epochs):
        order = rng.permutation(train_idx)
        for b in range(steps_per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            if len(idx) < 2:
                continue
            x, mask = batchify([mats[i] for i in idx], args.crop, rng, True, aug)
            y = torch.from_numpy(labels[idx]).long()
            if args.mixup > 0:
                lam = float(rng.beta(args.mixup, args.mixup))
                perm = torch.randperm(len(idx))
                x = lam * x + (1 - lam) * x[perm]
                mask = torch.maximum(mask, mask[perm])
                logits = model(x, mask)
                loss = lam * loss_fn(logits, y) + (1 - lam) * loss_fn(logits, y[perm])
            else:
                loss = loss_fn(model(x, mask), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model


def predict_proba(model, mats, idx, batch=64):
    """Class probabilities of whole clips (no cropping), batched with masks."""
    import torch

    probs = []
    order = sorted(idx, key=lambda i: len(mats[i]))
    with torch.no_grad():
        for b in range(0, len(order), batch):
            part = order[b:b + batch]
            x, mask = batchify([mats[i] for i in part], 0, None, False, {})
            probs.append(torch.softmax(model(x, mask), dim=1).numpy())
    probs = np.concatenate(probs)
    out = np.zeros((len(idx), probs.shape[1]))
    pos = {i: k for k, i in enumerate(idx)}
    for k, i in enumerate(order):
        out[pos[i]] = probs[k]
    return out


def main():
    """Train and evaluate one configuration under one protocol."""
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", choices=["cnn1d", "cnn2d"], default="cnn1d")
    parser.add_argument("--norm", choices=["global", "cmn", "cmvn"], default="global")
    parser.add_argument("--time-pool", type=int, default=2)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--mixup", type=float, default=0.2)
    parser.add_argument("--speed", type=float, default=0.1)
    parser.add_argument("--pitch", type=int, default=2)
    parser.add_argument("--specaug", type=int, default=1)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--protocol", choices=["grouped", "random"], default="grouped")
    parser.add_argument("--folds", type=int, nargs="*", default=None)
    parser.add_argument("--tag", required=True)
    args = parser.parse_args()
    torch.set_num_threads(2)

    labels = np.load(CACHE_DIR / "labels.npy")
    actors = np.load(CACHE_DIR / "actors.npy")
    mats = [normalise(m, args.norm).astype(np.float32) for m in load_logmel(args.time_pool)]
    folds = grouped_folds(actors) if args.protocol == "grouped" else random_split(labels)
    chosen = args.folds if args.folds is not None else range(len(folds))
    oof = np.zeros((len(labels), 8))
    fold_scores = []
    t0 = time.time()
    n_params = None
    for f in chosen:
        train, test = folds[f]
        probs = np.zeros((len(test), 8))
        for s in range(args.seeds):
            model = train_fold(mats, labels, train, args, seed=1000 * f + s)
            n_params = sum(p.numel() for p in model.parameters())
            probs += predict_proba(model, mats, list(test)) / args.seeds
        oof[test] = probs
        fold_scores.append(scores(labels[test], probs.argmax(axis=1)))
        print(f"fold {f}: acc {fold_scores[-1][0]:.4f} uar {fold_scores[-1][1]:.4f} ({time.time() - t0:.0f}s)", flush=True)
        np.save(CACHE_DIR / f"oof_{args.tag}.npy", oof)  # after every fold, so a stopped run keeps its folds
    summary = summarize(fold_scores)
    summary.update(tag=args.tag, protocol=args.protocol, params=n_params, train_s=round(time.time() - t0, 1),
                   config=vars(args), script="cnn")
    print(f"{args.tag}: {summary['text']} params={n_params} ({summary['train_s']}s)", flush=True)
    np.save(CACHE_DIR / f"oof_{args.tag}.npy", oof)
    with open(CACHE_DIR / "results.jsonl", "a") as fh:
        fh.write(json.dumps({k: v for k, v in summary.items() if k != "text"}) + "\n")


if __name__ == "__main__":
    main()
