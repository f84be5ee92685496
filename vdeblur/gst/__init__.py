"""GStreamer integration: the `vdeblur` element (python/vdeblur_gst.py, loaded by GStreamer's Python plugin
loader) and `vdeblur gst-env`, which says what GStreamer needs to find it from this installation."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent          # GStreamer looks in PLUGIN_DIR/python/
DEBIAN_PACKAGES = ("gstreamer1.0-tools", "gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good",
                   "gstreamer1.0-python3-plugin-loader", "python3-gi", "python3-gst-1.0")


def python_paths() -> list[str]:
    """What the embedded interpreter of GStreamer's plugin loader needs on its path to import vdeblur and
    its dependencies from this environment (an editable install's .pth files are not read from PYTHONPATH,
    so the package's own parent folder comes too)."""
    paths = [str(Path(__file__).resolve().parents[2]), sysconfig.get_paths()["purelib"],
             sysconfig.get_paths()["platlib"]]
    return list(dict.fromkeys(paths))


def loader_missing() -> str | None:
    """One line naming what is missing for the element to load, or None."""
    inspect = shutil.which("gst-inspect-1.0")
    if inspect is None:
        return f"GStreamer's tools are not installed (Debian: apt install {' '.join(DEBIAN_PACKAGES)})"
    r = subprocess.run([inspect, "python"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return ("GStreamer's Python plugin loader is missing (Debian: apt install "
                "gstreamer1.0-python3-plugin-loader python3-gi python3-gst-1.0)")
    system = loader_python()
    if system is not None and system != sys.version_info[:2]:
        return (f"GStreamer's plugin loader runs Python {system[0]}.{system[1]}, this environment is "
                f"{sys.version_info[0]}.{sys.version_info[1]}: install vdeblur in a Python {system[0]}.{system[1]} "
                f"environment for the element")
    return None


def loader_python() -> tuple[int, int] | None:
    """The Python version GStreamer's plugin loader embeds: the system python3's (Debian builds them together)."""
    exe = shutil.which("python3", path="/usr/bin:/bin")
    if exe is None:
        return None
    r = subprocess.run([exe, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True,
                       timeout=30)
    try:
        major, minor = (int(v) for v in r.stdout.split())
    except ValueError:
        return None
    return major, minor


def env_lines() -> list[str]:
    """Shell lines that let gst-launch-1.0 and applications find the element (for `eval`)."""
    plugin = [str(PLUGIN_DIR)] + [p for p in os.environ.get("GST_PLUGIN_PATH", "").split(os.pathsep) if p]
    py = python_paths() + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return [f"export GST_PLUGIN_PATH={shlex.quote(os.pathsep.join(dict.fromkeys(plugin)))}",
            f"export PYTHONPATH={shlex.quote(os.pathsep.join(dict.fromkeys(py)))}"]


def main_env() -> int:
    for line in env_lines():
        print(line)
    missing = loader_missing()
    if missing:
        print(f"vdeblur: warning: {missing}", file=sys.stderr)
        return 1
    return 0
