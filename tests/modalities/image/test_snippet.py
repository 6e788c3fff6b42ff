"""The standalone export: same output as the image transform (``PolicyTransform``), without autoaug."""

from __future__ import annotations

import ast
import subprocess
import sys
from typing import Any

import pytest
import torch

from autoaug.errors import PolicyError
from autoaug.modalities.image import PolicyTransform, baseline_policies, policy_to_snippet
from autoaug.ops import _registry, list_ops, register_op
from autoaug.policy import OpSpec, Policy, PolicyMetadata

# Per-image ops on tiny tensors run far slower with several intra-op threads.
torch.set_num_threads(1)

# Built-in ops only: other test modules may register ops of their own when they are collected.
BUILTIN_OPS = [op for op in list_ops() if op.kernel.__module__.startswith("autoaug.ops.")]
EVERY_OP = Policy(
    "subpolicies",
    sub_policies=tuple((OpSpec(op.name, 0.8, 0.6), OpSpec("rotate", 0.5, 0.4)) for op in BUILTIN_OPS),
    name="every_op",
)
POLICIES = {
    "every_op": EVERY_OP,
    "rand": Policy("rand", ops=tuple(op.name for op in BUILTIN_OPS), num_ops=3, magnitude=0.5),
    "trivial": Policy("trivial", ops=tuple(op.name for op in BUILTIN_OPS)),
    **baseline_policies(),
}
SEED = 3
# In the child: refuse any import of autoaug, run each snippet, save its outputs.
CHILD = f"""
import sys
sys.modules["autoaug"] = None
import torch
torch.set_num_threads(1)
images = torch.load(sys.argv[1])
for path in sys.argv[2:]:
    namespace = {{"__name__": "snippet"}}
    exec(compile(open(path).read(), path, "exec"), namespace)
    transform = namespace["build_policy"](generator=torch.Generator().manual_seed({SEED}))
    torch.save([transform(images[0]), transform(images)], path + ".pt")
assert not [name for name in sys.modules if name.startswith("autoaug.")]
"""


def augment(policy: Policy, images: torch.Tensor) -> list[torch.Tensor]:
    """What the child computes, through autoaug: one image, then the batch."""
    transform = PolicyTransform(policy, generator=torch.Generator().manual_seed(SEED))
    return [transform(images[0]), transform(images)]


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randint(0, 256, (6, 3, 24, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def snippet_outputs(images: torch.Tensor, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every snippet in one child process that cannot import autoaug."""
    folder = tmp_path_factory.mktemp("snippets")
    torch.save(images, folder / "images.pt")
    paths = []
    for name, policy in POLICIES.items():
        paths.append(folder / f"{name}.py")
        paths[-1].write_text(policy_to_snippet(policy))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder / "images.pt"), *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    return {path.stem: torch.load(f"{path}.pt") for path in paths}


@pytest.mark.parametrize("name", POLICIES)
def test_snippet_matches_build_without_autoaug(
    name: str, images: torch.Tensor, snippet_outputs: dict[str, Any]
) -> None:
    expected = augment(POLICIES[name], images)
    assert all(torch.equal(a, b) for a, b in zip(snippet_outputs[name], expected, strict=True))


def test_snippet_policies_cover_every_builtin_op() -> None:
    used = {spec.name for sub_policy in EVERY_OP.sub_policies for spec in sub_policy}
    assert used == {op.name for op in BUILTIN_OPS} >= {"dilate", "erode", "tint"}


def test_snippet_imports_only_torch_torchvision_and_pil() -> None:
    tree = ast.parse(policy_to_snippet(EVERY_OP))
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert {module.split(".")[0] for module in modules} == {
        "__future__",
        "math",
        "collections",
        "typing",
        "PIL",
        "torch",
        "torchvision",
    }


def test_snippet_documents_the_policy() -> None:
    assert '"""Augmentation policy \'every_op\': subpolicies: [autocontrast(p=0.8)' in policy_to_snippet(EVERY_OP)


def _built(policy: Policy) -> tuple[str, torch.nn.Module]:
    """The snippet's module docstring and the transform its ``build_policy()`` returns."""
    namespace: dict[str, Any] = {}
    exec(policy_to_snippet(policy), namespace)
    return namespace["__doc__"], namespace["build_policy"]()


@pytest.mark.parametrize(
    ("name", "metadata", "title"),
    [("low_res", None, "'low_res'"), ("", PolicyMetadata(search="digits-1", trial="trial-003"), "'digits-1/trial-003'"),
     ("", None, "(unnamed)")],
)
def test_snippet_names_the_policy_in_its_docstring_and_repr(name: str, metadata: PolicyMetadata | None, title: str) -> None:
    policy = Policy("subpolicies", sub_policies=((OpSpec("rotate", 0.5, 0.3),),), name=name, metadata=metadata)
    docstring, transform = _built(policy)
    summary = f"Augmentation policy {title}: subpolicies: [rotate(p=0.5,m=0.3)]"
    assert docstring.splitlines()[0] == summary
    assert repr(transform) == f"_Applier({summary})"
    assert repr(PolicyTransform(policy)) == "PolicyTransform(subpolicies: [rotate(p=0.5,m=0.3)])"


def scale_down(image: torch.Tensor, factor: float, generator: torch.Generator | None) -> torch.Tensor:
    """A user op kernel defined at module level, as users do in their own files."""
    return (image.float() * factor).round().to(torch.uint8)


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register ops without leaking them into other tests."""
    monkeypatch.setattr(_registry, "_OPS", dict(_registry._OPS))


@pytest.mark.usefixtures("scratch_registry")
def test_snippet_carries_user_ops() -> None:
    register_op("scale_down", low=1.0, high=0.5)(scale_down)
    policy = Policy("trivial", ops=("scale_down", "rotate"))
    namespace: dict[str, Any] = {}
    exec(policy_to_snippet(policy), namespace)
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    exported = namespace["build_policy"](generator=torch.Generator().manual_seed(1))(images)
    assert torch.equal(exported, PolicyTransform(policy, generator=torch.Generator().manual_seed(1))(images))


@pytest.mark.usefixtures("scratch_registry")
def test_snippet_refuses_kernels_without_source() -> None:
    register_op("anonymous")(lambda image, value, generator: image)
    with pytest.raises(PolicyError, match="op 'anonymous': only kernels that are plain functions"):
        policy_to_snippet(Policy("trivial", ops=("anonymous",)))


@pytest.mark.usefixtures("scratch_registry")
def test_snippet_refuses_clashing_kernel_names() -> None:
    def rotate(image: torch.Tensor, value: float, generator: torch.Generator | None) -> torch.Tensor:
        return image

    register_op("my_rotate")(rotate)
    with pytest.raises(PolicyError, match="cannot export kernels named rotate"):
        policy_to_snippet(Policy("trivial", ops=("rotate", "my_rotate")))
