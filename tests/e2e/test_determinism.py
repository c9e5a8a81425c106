"""With a seed, the bodies sent are the same set whatever the number of users, processes or workers."""

from __future__ import annotations

from collections import Counter

from e2e_support import BodyCapture, locust_cmd, private_master, run

N = 300


def bodies(env, tmp_path, name: str, seed: int, *extra: str) -> Counter:
    capture = BodyCapture()
    try:
        proc = run(locust_cmd(capture.url, "--request-count", str(N), "--random-seed", str(seed),
                              "--rankings-passages-mean", "3", "--rankings-passages-stddev", "1",
                              "--rankings-passages-prompt-token-mean", "24", "--artifact-dir", str(tmp_path / name),
                              *extra, "TeiRerankUser"), env, timeout=90)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return Counter(capture.digests)
    finally:
        capture.close()


def test_same_bodies_for_one_process_and_two_workers(tmp_path, clean_env):
    one = bodies(clean_env, tmp_path, "one", 7, "-u", "3", "-r", "3")
    two = bodies(clean_env, tmp_path, "two", 7, "-u", "8", "-r", "8", "--processes", "2", *private_master())
    assert sum(one.values()) == N and len(one) == N  # every request distinct by default
    assert one == two
    other_seed = bodies(clean_env, tmp_path, "other", 8, "-u", "3", "-r", "3")
    assert not set(other_seed) & set(one)
