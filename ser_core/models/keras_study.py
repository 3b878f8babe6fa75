"""The study's three Keras networks and a scikit-learn style wrapper that trains them.

The builders take any ``input_shape``: the study fed its 160-value clip vector as a
sequence of shape ``(160, 1)``; frame-level features over time use
``(n_frames, n_features)``, the input these families were meant for.
TensorFlow/Keras is imported inside the functions so importing this module is cheap.
"""

from pathlib import Path

import numpy as np
from ser_core.errors import InputError, ModelError, TrainingCancelled
from ser_core.models.base import SERClassifier, require_files, settings_file, write_settings
from ser_core.models.losses import make_loss

ARCHITECTURES = ("lstm", "cnn", "cnn_lstm")
WEIGHTS_FILE = "model.keras"
SETTINGS_FILE = "keras_classifier.json"
SCALER_FILE = "scaler.npz"
PREDICT_BATCH = 512


def _check_shape(input_shape, n_classes):
    """Validate a builder's arguments and return them as a tuple and an int."""
    shape = tuple(input_shape)
    if len(shape) != 2 or any(d is not None and int(d) < 1 for d in shape):
        raise InputError(f"input_shape must be (steps, channels), got {input_shape!r}")
    if int(n_classes) < 2:
        raise InputError(f"n_classes must be >= 2, got {n_classes}")
    return shape, int(n_classes)


def _conv_stack(x, *, dropout):
    """Three Conv1D -> BatchNorm -> MaxPool blocks (64, 128, 256 filters), dropout after the 2nd."""
    from keras import layers

    for block, filters in enumerate((64, 128, 256), start=1):
        x = layers.Conv1D(filters, 3, padding="same", activation="relu", name=f"conv{block}")(x)
        x = layers.BatchNormalization(name=f"batchnorm{block}")(x)
        x = layers.MaxPooling1D(2, padding="same", name=f"maxpool{block}")(x)
        if block == 2:
            x = layers.Dropout(dropout, name="conv_dropout")(x)
    return x


def _dense_head(x, units, n_classes, *, dropout):
    """Dense -> Dropout blocks of the given sizes, then the softmax output."""
    from keras import layers

    for index, size in enumerate(units, start=1):
        x = layers.Dense(size, activation="relu", name=f"dense{index}")(x)
        x = layers.Dropout(dropout, name=f"dropout{index}")(x)
    return layers.Dense(n_classes, activation="softmax", name="emotion")(x)


def build_lstm(input_shape, n_classes, *, dropout=0.3):
    """The study's LSTM: LSTM 256 -> Dense 128 -> Dense 64 -> softmax (305,864 params on (160, 1), 8 classes)."""
    import keras
    from keras import layers

    shape, n_classes = _check_shape(input_shape, n_classes)
    inputs = keras.Input(shape=shape, name="features")
    x = layers.LSTM(256, name="lstm")(inputs)
    outputs = _dense_head(x, (128, 64), n_classes, dropout=dropout)
    return keras.Model(inputs, outputs, name="lstm")


def build_cnn(input_shape, n_classes, *, dropout=0.3):
    """The study's CNN: 3 conv blocks -> global average pooling -> Dense 128 -> Dense 64 -> softmax (166,984 params)."""
    import keras
    from keras import layers

    shape, n_classes = _check_shape(input_shape, n_classes)
    inputs = keras.Input(shape=shape, name="features")
    x = _conv_stack(inputs, dropout=dropout)
    x = layers.GlobalAveragePooling1D(name="global_pool")(x)
    outputs = _dense_head(x, (128, 64), n_classes, dropout=dropout)
    return keras.Model(inputs, outputs, name="cnn")


def build_cnn_lstm(input_shape, n_classes, *, dropout=0.3):
    """The study's CNN+LSTM: 3 conv blocks -> LSTM 128 -> LSTM 64 -> Dense 64 -> Dense 32 -> softmax (378,344 params)."""
    import keras
    from keras import layers

    shape, n_classes = _check_shape(input_shape, n_classes)
    inputs = keras.Input(shape=shape, name="features")
    x = _conv_stack(inputs, dropout=dropout)
    x = layers.LSTM(128, return_sequences=True, name="lstm1")(x)
    x = layers.LSTM(64, name="lstm2")(x)
    outputs = _dense_head(x, (64, 32), n_classes, dropout=dropout)
    return keras.Model(inputs, outputs, name="cnn_lstm")


BUILDERS = {"lstm": build_lstm, "cnn": build_cnn, "cnn_lstm": build_cnn_lstm}


def as_sequences(X):
    """Return features as float32 ``(n, steps, channels)``: clip vectors become ``(n, d, 1)``."""
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 2:
        return X[:, :, None]
    if X.ndim == 3:
        return X
    raise InputError(
        f"features must be 2-D (clips, values) or 3-D (clips, frames, values), got shape {X.shape}"
    )


def _progress_callback(history, progress, should_stop):
    """A Keras callback that records each epoch (with lr), reports it and honours cancellation."""
    import keras

    class EpochReporter(keras.callbacks.Callback):
        def _check_cancel(self):
            if should_stop is not None and should_stop():
                raise TrainingCancelled("training cancelled by the caller")

        def on_train_batch_end(self, batch, logs=None):
            self._check_cancel()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            record = {
                "epoch": epoch + 1,
                "loss": float(logs.get("loss", np.nan)),
                "accuracy": float(logs.get("accuracy", np.nan)),
                "val_loss": float(logs.get("val_loss", np.nan)),
                "val_accuracy": float(logs.get("val_accuracy", np.nan)),
                "lr": lr,
            }
            for key, value in record.items():
                history.setdefault(key, []).append(value)
            if progress is not None:
                progress(dict(record))
            self._check_cancel()

    return EpochReporter()


class KerasClassifier(SERClassifier):
    """A study network trained like a scikit-learn classifier.

    Parameters
    ----------
    architecture : {"lstm", "cnn", "cnn_lstm"}
        Which study family to build; the input shape comes from the data.
    loss : {"crossentropy", "focal"}
        Training loss; ``focal_alpha`` and ``focal_gamma`` set the focal loss.
    epochs, batch_size, learning_rate :
        Adam training settings (study: 30, 36, 0.001).
    patience, lr_factor, lr_patience, min_lr :
        EarlyStopping on validation loss (restoring the best weights) and
        ReduceLROnPlateau settings (study: 10, 0.5, 5, 1e-6).
    dropout : float
        Dropout rate of every Dropout layer (the study does not state it).
    standardize : bool
        Scale each feature to zero mean and unit variance using the training data. Off by
        default, as in the study: on the study's 160-vector it lifts the near-zero delta
        means to the scale of the MFCCs and the CNN stayed at chance in our check.
    seed : int
        Seeds Python, NumPy and TensorFlow before building and training.
    """

    FITTED_ATTRIBUTE = "model_"

    def __init__(
        self,
        *,
        architecture="cnn",
        loss="crossentropy",
        focal_alpha=0.25,
        focal_gamma=2.0,
        epochs=30,
        batch_size=36,
        learning_rate=1e-3,
        patience=10,
        lr_factor=0.5,
        lr_patience=5,
        min_lr=1e-6,
        dropout=0.3,
        standardize=False,
        seed=42,
        verbose=0,
    ):
        self.architecture = architecture
        self.loss = loss
        self.focal_alpha = focal_alpha
        self.focal_gamma = focal_gamma
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.lr_factor = lr_factor
        self.lr_patience = lr_patience
        self.min_lr = min_lr
        self.dropout = dropout
        self.standardize = standardize
        self.seed = seed
        self.verbose = verbose

    def _check_settings(self):
        """Raise InputError for settings that cannot train."""
        if self.architecture not in BUILDERS:
            raise InputError(f"unknown architecture {self.architecture!r}; expected one of {ARCHITECTURES}")
        if int(self.epochs) < 1 or int(self.batch_size) < 1:
            raise InputError(f"epochs and batch_size must be >= 1, got {self.epochs} and {self.batch_size}")
        if not float(self.learning_rate) > 0:
            raise InputError(f"learning_rate must be > 0, got {self.learning_rate}")

    def _encode(self, y):
        """Map labels to class indices, rejecting labels not seen in ``fit``."""
        y = np.asarray(y)
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        unknown = self.classes_[codes] != y
        if np.any(unknown):
            raise InputError(f"labels {sorted(set(y[unknown].tolist()))} were not among the training labels")
        return codes.astype(np.int32)

    def _scale(self, X):
        """Apply the training-set standardisation (identity when disabled)."""
        X = as_sequences(X)
        if X.shape[1:] != tuple(self.input_shape_):
            raise InputError(f"features of shape {X.shape[1:]} per clip, but the model expects {tuple(self.input_shape_)}")
        if self.mean_ is None:
            return X
        return ((X - self.mean_) / self.scale_).astype(np.float32)

    def fit(self, X, y, *, X_val=None, y_val=None, progress=None, should_stop=None):
        """Train on ``X``/``y``; early stopping watches ``X_val``/``y_val`` (training loss when absent).

        ``progress(dict)`` is called after every epoch with epoch, loss, accuracy,
        val_loss, val_accuracy and lr; when ``should_stop()`` returns true the run stops
        and :class:`~ser_core.errors.TrainingCancelled` is raised.
        """
        import keras

        self._check_settings()
        X = as_sequences(X)
        y = np.asarray(y)
        self._learn_labels_and_scale(X, y)

        keras.utils.set_random_seed(int(self.seed))
        model = BUILDERS[self.architecture](self.input_shape_, len(self.classes_), dropout=self.dropout)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=float(self.learning_rate)),
            loss=make_loss(self.loss, alpha=self.focal_alpha, gamma=self.focal_gamma),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )
        validation = None
        monitor = "loss"
        if X_val is not None and len(X_val) > 0:
            validation = (self._scale(X_val), self._encode(y_val))
            monitor = "val_loss"
        history = {}
        callbacks = self._callbacks(monitor, history=history, progress=progress, should_stop=should_stop)
        self.model_ = model
        try:
            model.fit(
                self._scale(X),
                self._encode(y),
                validation_data=validation,
                epochs=int(self.epochs),
                batch_size=int(self.batch_size),
                shuffle=True,
                callbacks=callbacks,
                verbose=self.verbose,
            )
        except TrainingCancelled:
            del self.model_
            raise
        self.history_ = history
        return self

    def _learn_labels_and_scale(self, X, y):
        """Learn ``classes_``, ``input_shape_`` and the standardisation (``mean_``, ``scale_``) from the training clips."""
        if len(X) != len(y) or len(X) == 0:
            raise InputError(f"X has {len(X)} clips and y has {len(y)} labels; expected the same non-zero count")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise InputError(f"training needs at least 2 classes, got {self.classes_.tolist()}")
        self.input_shape_ = tuple(int(d) for d in X.shape[1:])
        if self.standardize:
            axes = (0, 1) if X.shape[2] > 1 else (0,)
            self.mean_ = X.mean(axis=axes, keepdims=True)[0].astype(np.float32)
            self.scale_ = np.maximum(X.std(axis=axes, keepdims=True)[0], 1e-8).astype(np.float32)
        else:
            self.mean_ = self.scale_ = None

    def _callbacks(self, monitor, *, history, progress, should_stop):
        """Early stopping and learning-rate decay on ``monitor``, and the per-epoch history and progress."""
        import keras

        return [
            keras.callbacks.EarlyStopping(monitor=monitor, patience=int(self.patience), restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor, factor=float(self.lr_factor), patience=int(self.lr_patience), min_lr=float(self.min_lr)
            ),
            _progress_callback(history, progress, should_stop),
        ]

    def predict_proba(self, X):
        """Return class probabilities, shape ``(n_clips, n_classes)``, columns in ``classes_`` order."""
        self._check_fitted()
        X = self._scale(X)
        # predict_on_batch reuses one compiled graph; an eager call of an LSTM is ~10x slower.
        chunks = [
            np.asarray(self.model_.predict_on_batch(X[start:start + PREDICT_BATCH]))
            for start in range(0, len(X), PREDICT_BATCH)
        ]
        if not chunks:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32)

    @property
    def n_parameters_(self):
        """Total parameter count of the fitted network."""
        self._check_fitted()
        return int(self.model_.count_params())

    def save(self, folder):
        """Write the network (``model.keras``), settings and scaler into ``folder`` (no pickle)."""
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model_.save(folder / WEIGHTS_FILE)
        state = {
            "params": self.get_params(),
            "classes": [str(c) for c in self.classes_],
            "input_shape": list(self.input_shape_),
            "history": getattr(self, "history_", {}),
        }
        write_settings(folder / SETTINGS_FILE, state)
        if self.mean_ is not None:
            np.savez(folder / SCALER_FILE, mean=self.mean_, scale=self.scale_)
        return folder

    @classmethod
    def load(cls, folder):
        """Load a classifier written by :meth:`save`; raise ModelError naming a missing or bad file."""
        import keras

        folder = require_files(folder, WEIGHTS_FILE, SETTINGS_FILE, what="a Keras model folder")
        with settings_file(folder / SETTINGS_FILE) as state:
            estimator = cls(**state["params"])
            estimator.classes_ = np.asarray(state["classes"])
            estimator.input_shape_ = tuple(state["input_shape"])
            estimator.history_ = state.get("history", {})
        estimator.mean_ = estimator.scale_ = None
        if state["params"].get("standardize"):
            try:
                with np.load(folder / SCALER_FILE, allow_pickle=False) as scaler:
                    estimator.mean_ = scaler["mean"].astype(np.float32)
                    estimator.scale_ = scaler["scale"].astype(np.float32)
            except (OSError, KeyError, ValueError) as error:
                raise ModelError(f"{folder / SCALER_FILE} is missing or unreadable: {error}") from error
        try:
            estimator.model_ = keras.models.load_model(folder / WEIGHTS_FILE, compile=False, safe_mode=True)
        except Exception as error:  # Keras raises many types for a damaged zip/h5
            raise ModelError(f"{folder / WEIGHTS_FILE} could not be loaded: {error}") from error
        return estimator
