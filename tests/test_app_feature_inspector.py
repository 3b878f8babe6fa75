"""The Feature inspector page in AppTest: one clip, two clips, an upload, and the corpus map."""

import numpy as np
import pytest

from app_support import open_page, problems, wav_bytes
from conftest import speechlike


def _page():
    return open_page("features")


def _chart_titles(at) -> list[str]:
    import json

    return [json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " ") for c in at.get("plotly_chart")]


def test_corpus_clip_heatmaps_vector_contours_egemaps_and_pair(app_env):
    at = _page()
    assert problems(at) == []
    # the first visit draws what is on screen: one heatmap, the vector, pitch and energy
    assert _chart_titles(at) == ["MFCC, each coefficient on its own scale", "The 160-value clip vector (MFCC-16000-40)",
                                 "Pitch and energy"]
    for frames, title in (("Δ MFCC", "Δ MFCC, each coefficient on its own scale"),
                          ("Mel (dB)", "Mel spectrogram (dB below the loudest point)")):
        at.get("button_group")[0].set_value(frames).run()
        assert problems(at) == [] and title in _chart_titles(at)
    # eGeMAPS and the same actor and sentence in another emotion, on request
    at.toggle(key="inspect_egemaps").set_value(True).run()
    egemaps = at.dataframe[0].value
    assert len(egemaps) == 88 and egemaps["value"].notna().all()
    at.toggle(key="inspect_pair").set_value(True).run()
    assert problems(at) == []
    titles = _chart_titles(at)
    assert at.selectbox(key="other_emotion").value is not None
    assert titles.count("Mel spectrogram") == 2 and titles.count("Pitch and energy") == 3


def test_uploaded_clip_is_inspected(app_env):
    at = _page()
    at.radio(key="inspect_source").set_value("Upload").run()
    at.file_uploader(key="inspect_upload").upload("mine.wav", wav_bytes(speechlike()), "audio/wav")
    at.run()
    assert problems(at) == []
    assert "The 160-value clip vector (MFCC-16000-40)" in _chart_titles(at)


def test_silent_upload_is_an_error(app_env):
    at = _page()
    at.radio(key="inspect_source").set_value("Upload").run()
    at.file_uploader(key="inspect_upload").upload("quiet.wav", wav_bytes(np.zeros(8000, np.float32)),
                                                  "audio/wav")
    at.run()
    assert [e.value for e in at.exception] == []
    assert "silent" in at.error[0].value


@pytest.mark.slow
@pytest.mark.parametrize("method", ["PCA", "t-SNE"])
def test_corpus_distributions_and_map(app_env, method):
    at = _page()
    at.toggle(key="corpus_go").set_value(True).run()
    assert problems(at) == []
    at.radio(key="map_method").set_value(method).run()
    at.radio(key="map_color").set_value("speaker").run()
    assert problems(at) == []
    titles = _chart_titles(at)
    assert f"{method} of MFCC-16000-40" in titles and "mfcc_0 by label" in titles
    assert at.get("progress")[-1].proto.value == 100
