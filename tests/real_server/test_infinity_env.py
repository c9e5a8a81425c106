"""The Infinity venv cache: named by its requirements, reused only when a build finished (no build here)."""

from __future__ import annotations

from . import infinity_env


def test_dir_is_named_by_the_requirements(monkeypatch, tmp_path):
    monkeypatch.setenv("RANKPERF_CACHE_DIR", str(tmp_path))
    first = infinity_env.env_dir()
    assert first.parent == tmp_path and first.name.startswith("infinity-")
    assert infinity_env.env_dir() == first  # stable
    monkeypatch.setattr(infinity_env, "REQUIREMENTS", ("torch==2.13.0", "infinity-emb[server,torch]==0.0.79"))
    assert infinity_env.env_dir() != first  # another requirement list, another venv


def test_a_venv_without_the_stamp_is_not_reused(tmp_path):
    venv = tmp_path / "infinity-x"
    exe = infinity_env.infinity_exe(venv)
    exe.parent.mkdir(parents=True)
    exe.write_text("")
    assert not infinity_env.is_ready(venv)  # a build that stopped half-way
    (venv / ".rankperf-ready").write_text("2.13.0+cpu cuda=None\n")
    assert infinity_env.is_ready(venv)
    exe.unlink()
    assert not infinity_env.is_ready(venv)


def test_torch_is_pinned_to_the_cpu_wheel_first():
    assert infinity_env.REQUIREMENTS[0] == infinity_env.TORCH == "torch==2.13.0"
    assert infinity_env.INFINITY.endswith("==0.0.78") and "[server,torch]" in infinity_env.INFINITY
