"""A ``python:`` model for the study tests: a tiny CNN that can kill its own process.

If the environment variable REPALIGN_TEST_CRASH_FLAG names a file that does not exist yet,
building the model creates it and then kills the process with SIGKILL (a crash no Python
code can catch), so the test can check that a study resumes without losing or duplicating
anything.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def build():
    import torch
    from torchvision import transforms

    flag = os.environ.get("REPALIGN_TEST_CRASH_FLAG")
    if flag and not Path(flag).exists():
        Path(flag).write_text("crashed once")
        os.kill(os.getpid(), signal.SIGKILL)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )
    transform = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor()])
    return model, transform
