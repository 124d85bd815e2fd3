"""YAML as the generated configuration files write it (gateway/envoy.yaml and the launcher's
rendered copies): shared nodes in full instead of as anchors, keys in the order given."""

from __future__ import annotations

from typing import Any

import yaml


class _PlainDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def plain_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, width=100)
