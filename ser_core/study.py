"""The study this project grows from: its systems, its settings and the figures it reported.

Random stratified 80/20 split of RAVDESS speech (1,440 clips, 288 test clips), 8 classes;
see ``../shared/SPEC.md``.
"""

#: The study's clip vector (MFCC, Δ, ΔΔ and mel dB time means at 16 kHz, 160 values).
STUDY_FEATURES = "MFCC-16000-40"
#: Wav2Vec2 features as the study used them: the last hidden state, time-averaged.
STUDY_W2V2_FEATURES = "W2V2-mean-last"
#: The study's Keras systems by registry name.
KERAS_SYSTEMS = ("lstm", "cnn", "cnn_lstm")
#: Display name of each of the study's systems.
SYSTEM_TITLES = {"lstm": "LSTM", "cnn": "CNN", "cnn_lstm": "CNN+LSTM", "wav2vec2_rf": "Wav2Vec2 + RF"}
#: The study's reported figures (random 80/20 split).
STUDY_RESULTS = {
    "lstm": {"train_accuracy": 0.2161, "accuracy": 0.2188, "macro_f1": 0.12, "parameters": 305_864},
    "cnn": {"train_accuracy": 0.4557, "accuracy": 0.4618, "macro_f1": 0.44, "parameters": 166_984},
    "cnn_lstm": {"train_accuracy": 0.8828, "accuracy": 0.6389, "macro_f1": 0.64, "parameters": 378_344},
    "wav2vec2_rf": {"train_accuracy": 1.0, "accuracy": 0.4861, "macro_f1": 0.47, "parameters": None},
}
#: Where the study's figures come from, in words.
STUDY_PROTOCOL = "reported by the study (random 80/20 split, speakers shared, 288 test clips)"
