"""``python -m varwheel.build.machines``: regenerate the shipped machine profiles."""

from __future__ import annotations

from varwheel.build.machines import write_all

if __name__ == "__main__":
    for path in write_all():
        print(path)
