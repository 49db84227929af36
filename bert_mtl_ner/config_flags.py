"""Config objects as absl flags: one definition, flags -> config object -> builders.

A config is a dataclass whose fields carry their help text (and, for enums, the
choices) in their metadata. ``define_flags`` declares one absl flag per field;
``from_flags`` reads the parsed flags back into the dataclass. Apps declare their
flags this way, so a config built in code (the experiment grid) and one built
from the command line are the same object.
"""

import dataclasses
import typing
from typing import Any, List, Optional, Sequence, Type, TypeVar

from absl import flags

C = TypeVar("C")


def field(default: Any, help: str, choices: Optional[Sequence[str]] = None):  # pylint: disable=redefined-builtin
  """A dataclass field with flag metadata."""
  metadata = {"help": help}
  if choices is not None:
    metadata["choices"] = list(choices)
  return dataclasses.field(default=default, metadata=metadata)


def list_field(help: str):  # pylint: disable=redefined-builtin
  """A list-valued field (a comma-separated flag), empty by default."""
  return dataclasses.field(default_factory=list, metadata={"help": help})


def define_flags(config_class: Type[C],
                 flag_values: flags.FlagValues = flags.FLAGS) -> None:
  """Declares one absl flag per field of ``config_class``."""
  hints = typing.get_type_hints(config_class)
  for item in dataclasses.fields(config_class):
    help_text = item.metadata.get("help", item.name)
    choices = item.metadata.get("choices")
    kind = hints[item.name]
    default = (item.default_factory()
               if item.default_factory is not dataclasses.MISSING
               else item.default)
    if choices is not None:
      flags.DEFINE_enum(item.name, default, choices, help_text,
                        flag_values=flag_values)
    elif kind is bool:
      flags.DEFINE_bool(item.name, default, help_text, flag_values=flag_values)
    elif kind is int:
      flags.DEFINE_integer(item.name, default, help_text,
                           flag_values=flag_values)
    elif kind is float:
      flags.DEFINE_float(item.name, default, help_text, flag_values=flag_values)
    elif typing.get_origin(kind) is list:
      flags.DEFINE_list(item.name, default, help_text, flag_values=flag_values)
    else:
      flags.DEFINE_string(item.name, default, help_text,
                          flag_values=flag_values)


def from_flags(config_class: Type[C],
               flag_values: flags.FlagValues = flags.FLAGS, **overrides) -> C:
  """The config of the parsed flags, with ``overrides`` on top."""
  values = {item.name: flag_values[item.name].value
            for item in dataclasses.fields(config_class)}
  values.update(overrides)
  return config_class(**values)


def to_args(config: Any) -> List[str]:
  """The command-line flags that ``from_flags`` reads back into ``config``
  (the inverse of ``from_flags``; fields that are None are left out, so they
  keep their default None)."""
  args = []
  for item in dataclasses.fields(config):
    key, value = item.name, getattr(config, item.name)
    if value is None:
      if item.default is not None:
        raise ValueError(f"{key} is None, which no flag can say (its "
                         f"default is {item.default!r})")
      continue
    if isinstance(value, bool):
      value = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
      value = ",".join(str(v) for v in value)
    args.append(f"--{key}={value}")
  return args
