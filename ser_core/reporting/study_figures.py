"""The figures the study this project grows from reported, for the comparison page and the report.

Random stratified 80/20 split of RAVDESS speech (1,440 clips, 288 test clips), 8 classes;
see ``../shared/SPEC.md``. Its settings (features, systems) live with its recipe,
``recipes/study.py``.
"""

#: The study, named as the project's brief names it (``SPEC.md``).
STUDY_TITLE = "A comparative study of CNN, LSTM and transformer models for speech emotion recognition on RAVDESS"
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
