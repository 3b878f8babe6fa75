"""A 2-D CNN on log-mel spectrograms (torch), trained with SpecAugment and a one-cycle schedule.

The recipe (``../shared/SPEC.md``, "measured CNN"): features ``LOGMEL-16000-64-300``
(64 mel bands, 25 ms window, 10 ms hop, dB relative to the clip's maximum, centred in
300 frames) of clips trimmed at 30 dB; one global mean and standard deviation from the
training clips; four blocks of (3x3 conv, batch norm, ReLU) x 2 then 2x2 max-pool, widths
24, 48, 96, 128; global average pool, dropout 0.3, linear to the classes (about 422k
parameters). AdamW (weight decay 1e-3), one-cycle from 1e-3 up to 3e-3, 40 epochs,
batch 32, label smoothing 0.1; per clip and batch one frequency mask (up to 12 bands),
one time mask (up to 40 frames) and a random circular shift in time (up to 30 frames).

Weights are saved as plain arrays (``logmel_cnn.npz``) with the settings in
``logmel_cnn.json``: no pickle, so a folder loads from anywhere.
"""

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from ser_core.errors import InputError, ModelError, TrainingCancelled
from ser_core.models.base import SERClassifier, require_files, settings_file, write_settings

WEIGHTS_FILE = "logmel_cnn.npz"
SETTINGS_FILE = "logmel_cnn.json"
PRECISIONS = ("auto", "bf16", "fp32")
PREDICT_BATCH = 64


class _Run(NamedTuple):
    """What one training run updates: the network, its optimiser and schedule, the loss, bf16 or not."""

    network: Any
    optimizer: Any
    schedule: Any
    loss_fn: Any
    use_bf16: bool


def build_network(n_mels, n_classes, *, widths=(24, 48, 96, 128), dropout=0.3):
    """Return the torch module: conv blocks on (batch, 1, n_mels, frames) -> class logits."""
    from torch import nn

    layers, channels = [], 1
    for width in widths:
        layers += [
            nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        ]
        channels = width
    if n_mels < 2 ** len(widths):
        raise InputError(f"{n_mels} mel bands are too few for {len(widths)} pooling blocks; expected at least {2 ** len(widths)}")
    return nn.Sequential(
        *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, n_classes),
    )


def bf16_is_fast():
    """True when this CPU has native bfloat16 matrix units (AVX512-BF16 or AMX), as oneDNN reports."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class LogMelCNN(SERClassifier):
    """2-D CNN on ``LOGMEL`` spectrograms, a scikit-learn style estimator.

    Parameters
    ----------
    widths : tuple of int
        Channels of the four conv blocks.
    dropout : float
        Dropout before the linear layer.
    epochs, batch_size : int
        Training length (no early stopping: the one-cycle schedule sets the length).
    learning_rate, max_learning_rate : float
        The one-cycle schedule starts at ``learning_rate``, peaks at ``max_learning_rate``.
    weight_decay, label_smoothing : float
        AdamW weight decay and cross-entropy label smoothing.
    freq_mask_bands, time_mask_frames, roll_frames : int
        Largest frequency mask (bands), time mask (frames) and circular time shift
        (frames) drawn per clip and batch during training.
    precision : {"auto", "bf16", "fp32"}
        Training arithmetic: bfloat16 autocast is about 1.8x faster where the CPU has
        bfloat16 units ("auto" uses it there). Prediction always runs in float32.
    seed : int
        Seeds torch and NumPy for initialisation, batches and augmentation.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(-40, 10, (8, 64, 40)).astype("float32")
    >>> model = LogMelCNN(widths=(4, 4, 4, 4), epochs=1, batch_size=4).fit(X, ["a", "b"] * 4)
    >>> model.predict_proba(X).shape
    (8, 2)
    """

    FITTED_ATTRIBUTE = "network_"

    def __init__(
        self,
        *,
        widths=(24, 48, 96, 128),
        dropout=0.3,
        epochs=40,
        batch_size=32,
        learning_rate=1e-3,
        max_learning_rate=3e-3,
        weight_decay=1e-3,
        label_smoothing=0.1,
        freq_mask_bands=12,
        time_mask_frames=40,
        roll_frames=30,
        precision="auto",
        seed=42,
    ):
        self.widths = widths
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_learning_rate = max_learning_rate
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.freq_mask_bands = freq_mask_bands
        self.time_mask_frames = time_mask_frames
        self.roll_frames = roll_frames
        self.precision = precision
        self.seed = seed

    # ------------------------------------------------------------ checks

    def _check_settings(self):
        """Raise InputError for settings that cannot train."""
        if int(self.epochs) < 1 or int(self.batch_size) < 2:
            raise InputError(f"epochs must be >= 1 and batch_size >= 2, got {self.epochs} and {self.batch_size}")
        if not 0 < float(self.learning_rate) <= float(self.max_learning_rate):
            raise InputError(f"learning rates must satisfy 0 < learning_rate <= max_learning_rate, "
                             f"got {self.learning_rate} and {self.max_learning_rate}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision is {self.precision!r}; expected one of {', '.join(PRECISIONS)}")
        if len(tuple(self.widths)) < 1 or min(int(w) for w in self.widths) < 1:
            raise InputError(f"widths must be positive channel counts, got {self.widths!r}")

    def _spectrograms(self, X):
        """Return X as float32 (clips, mels, frames), checked against the fitted shape."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 3:
            raise InputError(f"log-mel features must be 3-D (clips, mels, frames), got shape {X.shape}")
        if hasattr(self, "input_shape_") and X.shape[1:] != tuple(self.input_shape_):
            raise InputError(f"features of shape {X.shape[1:]} per clip, but the model expects {tuple(self.input_shape_)}")
        if not np.all(np.isfinite(X)):
            raise InputError("log-mel features contain NaN or infinity")
        return X

    # ------------------------------------------------------------ training

    def _batches(self, n, rng):
        """Shuffled index batches of one epoch; a last batch of one clip joins the one before (batch norm)."""
        order = rng.permutation(n)
        size = int(self.batch_size)
        batches = [order[start:start + size] for start in range(0, n, size)]
        if len(batches) > 1 and len(batches[-1]) < 2:
            batches[-2] = np.concatenate([batches[-2], batches.pop()])
        return batches

    def _augment(self, x, rng):
        """SpecAugment (one frequency and one time mask) and a circular time shift, per clip."""
        x = x.copy()
        n_mels, n_frames = x.shape[1:]
        for clip in x:
            if self.roll_frames:
                clip[:] = np.roll(clip, int(rng.integers(-self.roll_frames, self.roll_frames + 1)), axis=1)
            width = int(rng.integers(0, min(self.freq_mask_bands, n_mels) + 1))
            start = int(rng.integers(0, n_mels - width + 1))
            clip[start:start + width, :] = 0.0
            width = int(rng.integers(0, min(self.time_mask_frames, n_frames) + 1))
            start = int(rng.integers(0, n_frames - width + 1))
            clip[:, start:start + width] = 0.0
        return x

    def _use_bf16(self):
        return self.precision == "bf16" or (self.precision == "auto" and bf16_is_fast())

    def fit(self, X, y, *, X_val=None, y_val=None, progress=None, should_stop=None):
        """Train on ``X`` (clips, mels, frames) and labels ``y``; ``X_val``/``y_val`` are only monitored.

        ``progress(dict)`` is called after every epoch with epoch, loss, accuracy,
        val_loss, val_accuracy (when validation data is given) and lr; when
        ``should_stop()`` returns true (polled every batch),
        :class:`~ser_core.errors.TrainingCancelled` is raised.
        """
        import torch

        self._check_settings()
        for attribute in ("network_", "input_shape_"):
            self.__dict__.pop(attribute, None)
        X = self._spectrograms(X)
        codes = torch.from_numpy(self._learn_labels_and_scale(X, y))
        normalised = (X - self.mean_) / self.std_
        validation = None
        if X_val is not None and len(X_val):
            validation = (self._normalised(self._spectrograms(X_val)), self._encode(y_val))

        torch.manual_seed(int(self.seed))
        rng = np.random.default_rng(int(self.seed))
        run = self._new_run(len(X))
        self.history_ = {key: [] for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr")}
        for epoch in range(1, int(self.epochs) + 1):
            record = {"epoch": epoch, **self._train_epoch(run, normalised, codes, rng, should_stop=should_stop)}
            run.network.eval()
            if validation is not None:
                record.update(self._score(run.network, *validation, loss_fn=run.loss_fn))
            for key in self.history_:
                self.history_[key].append(record.get(key))
            if progress is not None:
                progress(dict(record))
        self.network_ = run.network.eval()
        self.precision_used_ = "bf16" if run.use_bf16 else "fp32"
        return self

    def _learn_labels_and_scale(self, X, y):
        """Learn ``classes_``, ``input_shape_``, ``mean_`` and ``std_`` from the training clips; return their class codes."""
        y = np.asarray(y).astype(str)
        if len(X) != len(y) or len(X) < 2:
            raise InputError(f"X has {len(X)} clips and y has {len(y)} labels; expected the same count, at least 2")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise InputError(f"training needs at least 2 classes, got {self.classes_.tolist()}")
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        self.mean_ = float(X.mean())
        self.std_ = float(max(X.std(), 1e-6))
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _new_run(self, n_clips):
        """A fresh network with its optimiser, one-cycle schedule over every epoch's batches, loss and precision."""
        import torch

        network = build_network(self.input_shape_[0], len(self.classes_), widths=tuple(self.widths), dropout=self.dropout)
        network = network.to(memory_format=torch.channels_last)
        optimizer = torch.optim.AdamW(network.parameters(), lr=float(self.learning_rate), weight_decay=float(self.weight_decay))
        steps = len(self._batches(n_clips, np.random.default_rng(0)))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=float(self.max_learning_rate), total_steps=int(self.epochs) * steps,
            div_factor=float(self.max_learning_rate) / float(self.learning_rate),
        )
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=float(self.label_smoothing))
        return _Run(network, optimizer, schedule, loss_fn, self._use_bf16())

    def _train_epoch(self, run, normalised, codes, rng, *, should_stop=None):
        """One pass over shuffled, augmented batches; returns the epoch's mean loss, accuracy and last learning rate."""
        import torch

        run.network.train()
        total_loss = correct = 0.0
        for batch in self._batches(len(normalised), rng):
            if should_stop is not None and should_stop():
                raise TrainingCancelled("training cancelled")
            inputs = torch.from_numpy(self._augment(normalised[batch], rng)).unsqueeze(1)
            inputs = inputs.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=run.use_bf16):
                logits = run.network(inputs)
            loss = run.loss_fn(logits.float(), codes[batch])
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            run.optimizer.step()
            run.schedule.step()
            total_loss += loss.item() * len(batch)
            correct += float((logits.argmax(dim=1) == codes[batch]).sum())
        return {"loss": total_loss / len(normalised), "accuracy": correct / len(normalised),
                "lr": float(run.optimizer.param_groups[0]["lr"])}

    def _normalised(self, X):
        return (X - self.mean_) / self.std_

    def _encode(self, y):
        """Class indices of labels ``y``; labels unseen in fit raise InputError."""
        y = np.asarray(y).astype(str)
        unknown = sorted(set(y.tolist()) - set(self.classes_.tolist()))
        if unknown:
            raise InputError(f"labels {unknown} were not among the training labels {self.classes_.tolist()}")
        return np.searchsorted(self.classes_, y)

    def _logits(self, network, normalised):
        """float32 logits of normalised spectrograms, in batches, without gradients."""
        import torch

        chunks = []
        with torch.inference_mode():
            for start in range(0, len(normalised), PREDICT_BATCH):
                inputs = torch.from_numpy(np.ascontiguousarray(normalised[start:start + PREDICT_BATCH])).unsqueeze(1)
                chunks.append(network(inputs.contiguous(memory_format=torch.channels_last)).float().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.classes_)), dtype=np.float32)

    def _score(self, network, normalised, codes, *, loss_fn):
        """Validation loss and accuracy of the network in eval mode."""
        import torch

        logits = self._logits(network, normalised)
        loss = float(loss_fn(torch.from_numpy(logits), torch.from_numpy(codes.astype(np.int64))))
        return {"val_loss": loss, "val_accuracy": float(np.mean(logits.argmax(axis=1) == codes))}

    # ------------------------------------------------------------ prediction

    def predict_proba(self, X):
        """Class probabilities ``(clips, classes)``, columns in ``classes_`` order (float32 arithmetic)."""
        self._check_fitted()
        logits = self._logits(self.network_, self._normalised(self._spectrograms(X)))
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return (probabilities / probabilities.sum(axis=1, keepdims=True)).astype(np.float32)

    @property
    def n_parameters_(self):
        """Number of trainable and running-statistics-free parameters of the network."""
        self._check_fitted()
        return int(sum(parameter.numel() for parameter in self.network_.parameters()))

    # ------------------------------------------------------------ persistence

    def save(self, folder):
        """Write the weights (``logmel_cnn.npz``, plain arrays) and settings (``logmel_cnn.json``)."""
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {name: tensor.detach().cpu().numpy() for name, tensor in self.network_.state_dict().items()}
        np.savez(folder / WEIGHTS_FILE, **arrays)
        params = self.get_params()
        params["widths"] = [int(w) for w in params["widths"]]
        state = {
            "params": params,
            "classes": [str(c) for c in self.classes_],
            "input_shape": list(self.input_shape_),
            "mean": self.mean_,
            "std": self.std_,
            "precision_used": getattr(self, "precision_used_", None),
            "history": getattr(self, "history_", {}),
        }
        write_settings(folder / SETTINGS_FILE, state)
        return folder

    @classmethod
    def load(cls, folder):
        """Load a model written by :meth:`save`; raise ModelError naming a missing or bad file."""
        import torch

        folder = require_files(folder, WEIGHTS_FILE, SETTINGS_FILE, what="a LogMelCNN folder")
        with settings_file(folder / SETTINGS_FILE) as state:
            params = dict(state["params"])
            params["widths"] = tuple(params["widths"])
            estimator = cls(**params)
            estimator.classes_ = np.asarray(state["classes"])
            estimator.input_shape_ = tuple(int(d) for d in state["input_shape"])
            estimator.mean_, estimator.std_ = float(state["mean"]), float(state["std"])
            estimator.precision_used_ = state.get("precision_used")
            estimator.history_ = state.get("history", {})
        network = build_network(estimator.input_shape_[0], len(estimator.classes_), widths=estimator.widths,
                                dropout=estimator.dropout)
        try:
            with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as arrays:
                network.load_state_dict({name: torch.from_numpy(arrays[name].copy()) for name in arrays.files})
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            raise ModelError(f"{folder / WEIGHTS_FILE} could not be loaded: {error}") from None
        estimator.network_ = network.to(memory_format=torch.channels_last).eval()
        return estimator

