"""YAML as editors read it: yaml-language-server reads YAML 1.2, where a key `on` is the word;
PyYAML reads YAML 1.1, where it is ``True``."""

from __future__ import annotations

from typing import Any


def yaml12_keys(node: Any) -> Any:
    """``node`` (from ``yaml.safe_load``) with YAML 1.1's boolean ``on`` keys back as "on"."""
    if isinstance(node, dict):
        return {("on" if k is True else k): yaml12_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [yaml12_keys(item) for item in node]
    return node
