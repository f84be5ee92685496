"""The run summary's model name: the shipped name, not the architecture it shares."""
from vdeblur.model.loading import load_model
from vdeblur.report import model_name


def test_model_name_is_the_shipped_name():
    assert model_name(load_model("sharp")[1], "sharp") == "sharp"       # a `small` network, reported as sharp
    assert model_name(load_model("small")[1], "small") == "small"
    assert model_name({"preset": "tiny"}, "w.safetensors") == "tiny"     # weights exported before names
    assert model_name({}, "w.safetensors") == "w.safetensors"
