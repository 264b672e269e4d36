"""Prior distributions of the nuisance parameters, and prior sets loaded from TOML files.

A prior file (``priors/*.toml``) names its schema and gives one table per parameter, each
number with its source::

    schema_version = 1
    name = "ssm-b16-gs98"
    description = "B16 standard solar model, GS98 composition"
    reference = "N. Vinyoles et al., ApJ 835, 202 (2017)"

    [parameters.flux_7be_cm2s]
    family = "normal"
    mean = 4.93e9
    sigma = 0.2958e9
    source = "B16-GS98 total 7Be flux, 6% uncertainty"

The families are the keys of :data:`mcprop.inference.distributions.FAMILIES`, the
parameters those of :data:`mcprop.physics.parameters.PARAMETERS`. Every number is in the
unit of its parameter: mixing angles as sin^2, delta_CP in degrees, Dm^2_21 in eV^2, the 7Be
flux in cm^-2 s^-1.

Beyond its family's own rules, a prior must make sense for its parameter: at least
:data:`MIN_DOMAIN_PROBABILITY` of it inside the parameter's physical domain, its numbers
within :data:`SANITY_FACTOR` times the parameter's typical size
(:data:`~mcprop.physics.parameters.PARAMETER_SCALES`) and its widths at least
:data:`MIN_RELATIVE_WIDTH` times that size (narrower is a fixed value: use the ``fixed``
family).

:class:`PriorFileSchema` (pydantic) is the schema of a prior file; its JSON Schema is in
``docs/schemas/``. Every error is one line, ``file: key.path: reason`` (:class:`PriorError`).
"""

import functools
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mcprop.files import InputFileError, brief_repr, read_toml
from mcprop.inference.distributions import FAMILIES, Distribution, PriorError, finite_number
from mcprop.physics.parameters import PARAMETER_SCALES, PHYSICAL_DOMAINS, POSITIVE_PARAMETERS

#: The only prior-file schema this module reads.
SCHEMA_VERSION = 1
#: Every number of a prior lies within this multiple of its parameter's scale.
SANITY_FACTOR = 1e3
#: Widths (and the length of a bounded support) below this fraction of the parameter's scale
#: are refused: the walkers could not move (use the ``fixed`` family).
MIN_RELATIVE_WIDTH = 1e-9
#: Least probability a prior must put inside its parameter's physical domain.
MIN_DOMAIN_PROBABILITY = 1e-3
#: Rounds of redraws in PriorSet.sample before giving up on a parameter's physical domain.
_MAX_REDRAWS = 100


def _prefixed(err: PriorError, prefix: str) -> PriorError:
    """The same error with its key path placed under ``prefix``."""
    key = prefix if err.key is None else f"{prefix}.{err.key}"
    return PriorError(err.reason, key=key, path=err.path)


def _check_name(name: str) -> None:
    if name not in PHYSICAL_DOMAINS:
        raise PriorError(f"unknown parameter (known: {', '.join(PHYSICAL_DOMAINS)})")


def _domain_text(name: str) -> str:
    low, high = PHYSICAL_DOMAINS[name]
    return f"{'(' if name in POSITIVE_PARAMETERS else '['}{low:g}, {high:g}]"


def _check_physical(name: str, distribution: Distribution) -> None:
    """Raise PriorError if ``distribution`` makes no sense as the prior of ``name``.

    Refused: a number beyond SANITY_FACTOR times the parameter's scale, a width (or a
    bounded support) narrower than MIN_RELATIVE_WIDTH times it, a fixed value outside the
    physical domain, or less than MIN_DOMAIN_PROBABILITY of the prior inside it.
    """
    scale = PARAMETER_SCALES[name]
    for field_ in fields(distribution):
        value = getattr(distribution, field_.name)
        if abs(value) > SANITY_FACTOR * scale:
            raise PriorError(f"{value:g} is beyond {SANITY_FACTOR:g} times the typical size "
                             f"{scale:g} of {name}", key=field_.name)
    for width in distribution.widths:
        value = getattr(distribution, width)
        if value < MIN_RELATIVE_WIDTH * scale:
            raise PriorError(f"{value:g} is below {MIN_RELATIVE_WIDTH:g} times the typical "
                             f"size {scale:g} of {name} (for a parameter held at one value "
                             f"use family = \"fixed\")", key=width)
    support_low, support_high = distribution.support
    if not distribution.is_fixed and support_high - support_low < MIN_RELATIVE_WIDTH * scale:
        raise PriorError(f"the support [{support_low:g}, {support_high:g}] is narrower than "
                         f"{MIN_RELATIVE_WIDTH:g} times the typical size {scale:g} of {name}")
    low, high = PHYSICAL_DOMAINS[name]
    if distribution.is_fixed:
        value = distribution.centre
        if not (low < value if name in POSITIVE_PARAMETERS else low <= value) or value > high:
            raise PriorError(f"fixed value {value:g} lies outside the physical domain "
                             f"{_domain_text(name)}")
        return
    probability = distribution.probability_between(low, high)
    if probability == 0:
        raise PriorError(f"prior support [{support_low:g}, {support_high:g}] lies outside the "
                         f"physical domain {_domain_text(name)}")
    if probability < MIN_DOMAIN_PROBABILITY:
        raise PriorError(f"only {probability:.2g} of the prior lies inside the physical "
                         f"domain {_domain_text(name)} (at least {MIN_DOMAIN_PROBABILITY:g})")


@dataclass(frozen=True)
class PriorFile:
    """Provenance of one prior file: its path and its top-level strings."""

    path: Path
    name: str
    description: str
    reference: str


@dataclass(frozen=True)
class PriorSet:
    """Priors of the nuisance parameters, in order, with their provenance.

    ``distributions`` maps parameter names (keys of :data:`PHYSICAL_DOMAINS`) to priors,
    ``references`` maps the same names to the source of each prior's numbers, and ``files``
    lists the prior files the set was loaded from. Both mappings are stored read-only.
    """

    distributions: Mapping[str, Distribution]
    references: Mapping[str, str]
    files: tuple[PriorFile, ...] = ()

    def __post_init__(self) -> None:
        for name, distribution in self.distributions.items():
            try:
                _check_name(name)
                if not isinstance(distribution, Distribution):
                    raise PriorError(f"not a Distribution: {distribution!r}")
                _check_physical(name, distribution)
                source = self.references.get(name)
                if not isinstance(source, str) or not source.strip():
                    raise PriorError("needs a non-empty source string in references")
            except PriorError as err:
                raise _prefixed(err, name) from None
        extra = set(self.references) - set(self.distributions)
        if extra:
            raise PriorError(f"references name parameters without a prior: {sorted(extra)}")
        object.__setattr__(self, "distributions", dict(self.distributions))
        object.__setattr__(self, "references", dict(self.references))

    @property
    def name(self) -> str:
        """The names of the files, joined by '+'."""
        return "+".join(file.name for file in self.files)

    @property
    def description(self) -> str:
        """The descriptions of the files, joined by '; '."""
        return "; ".join(file.description for file in self.files if file.description)

    @property
    def paths(self) -> tuple[Path, ...]:
        """Paths of the files, in load order."""
        return tuple(file.path for file in self.files)

    @cached_property
    def free_names(self) -> tuple[str, ...]:
        """Names of the sampled (non-fixed) parameters, in file order."""
        return tuple(name for name, dist in self.distributions.items() if not dist.is_fixed)

    @property
    def fixed_values(self) -> dict[str, float]:
        """Values of the fixed parameters."""
        return {name: dist.centre for name, dist in self.distributions.items() if dist.is_fixed}

    def centres(self) -> dict[str, float]:
        """Central value of every parameter, fixed ones included."""
        return {name: dist.centre for name, dist in self.distributions.items()}

    @cached_property
    def _family_densities(self) -> tuple[np.ndarray, tuple[tuple[Callable, slice], ...]]:
        """The free parameters grouped by family: the rows of :attr:`free_names` in family
        order, and per family its summed log density
        (:meth:`Distribution.summed_log_density`) and its slice of those rows."""
        groups: dict[type, list[int]] = {}
        for k, name in enumerate(self.free_names):
            groups.setdefault(type(self.distributions[name]), []).append(k)
        densities, start = [], 0
        for family, rows in groups.items():
            members = [self.distributions[self.free_names[k]] for k in rows]
            densities.append((family.summed_log_density(members),
                              slice(start, start + len(rows))))
            start += len(rows)
        order = np.array([k for rows in groups.values() for k in rows], dtype=np.intp)
        return order, tuple(densities)

    @cached_property
    def _domains(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds (n_free, 1) of the free parameters' physical domains, in
        the family order of :attr:`_family_densities`."""
        order, _ = self._family_densities
        bounds = np.array([PHYSICAL_DOMAINS[self.free_names[k]] for k in order]).reshape(-1, 2)
        return bounds[:, :1], bounds[:, 1:]

    @cached_property
    def _domain_probabilities(self) -> dict[str, float]:
        """Probability of each free parameter's prior inside its physical domain."""
        return {name: self.distributions[name].probability_between(*PHYSICAL_DOMAINS[name])
                for name in self.free_names}

    def log_density(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Sum of the free parameters' log priors; -inf outside a physical domain.

        ``values`` maps each free parameter to an array of shape (n,); other keys are
        ignored. The sum is not renormalised for the cut at the physical domains. The
        parameters of a family are evaluated together
        (:meth:`Distribution.summed_log_density`).
        """
        if not self.free_names:
            return np.zeros(())
        x = np.array(np.broadcast_arrays(*(np.asarray(values[name], dtype=float)
                                           for name in self.free_names)))
        return self.log_density_of_rows(x.reshape(len(x), -1)).reshape(x.shape[1:])

    def log_density_of_rows(self, x: np.ndarray) -> np.ndarray:
        """:meth:`log_density` of samples given as rows x (n_free, n), one row per free
        parameter in :attr:`free_names` order (the sampler's coordinates, transposed)."""
        order, densities = self._family_densities
        x = x[order]
        low, high = self._domains
        inside = np.all((x >= low) & (x <= high), axis=0)
        total = 0.0
        with np.errstate(over="ignore"):  # far outside the prior: -inf, not a warning
            for density, rows in densities:
                total = total + density(x[rows])
        return np.where(inside, total, -np.inf)

    def sample(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        """``size`` draws of each free parameter, redrawn until inside its physical domain.

        Draws outside the domain are replaced from batches sized by the prior's probability
        inside it (at least MIN_DOMAIN_PROBABILITY), so a few rounds always suffice.
        """
        draws = {}
        for name in self.free_names:
            distribution = self.distributions[name]
            low, high = PHYSICAL_DOMAINS[name]
            probability = self._domain_probabilities[name]
            x = distribution.sample(rng, size)
            outside = np.flatnonzero((x < low) | (x > high))
            for _ in range(_MAX_REDRAWS):
                if outside.size == 0:
                    break
                batch = distribution.sample(rng, math.ceil(outside.size / probability))
                batch = batch[(batch >= low) & (batch <= high)][:outside.size]
                x[outside[:batch.size]] = batch
                outside = outside[batch.size:]
            if outside.size:
                raise PriorError(f"almost all of the prior lies outside the physical domain "
                                 f"{_domain_text(name)}", key=name)
            draws[name] = x
        return draws

    def with_override(self, name: str, distribution: Distribution,
                      source: str = "set by PriorSet.with_override") -> Self:
        """A copy with ``name``'s prior replaced (or added, at the end) by ``distribution``."""
        return replace(self, distributions={**self.distributions, name: distribution},
                       references={**self.references, name: source})

    def restricted_to(self, names: Sequence[str]) -> Self:
        """A copy holding only ``names`` (PriorError naming any that is missing)."""
        missing = [name for name in names if name not in self.distributions]
        if missing:
            raise PriorError(f"no prior for {', '.join(missing)} in "
                             f"{', '.join(str(p) for p in self.paths) or 'the prior set'}")
        return replace(self, distributions={n: d for n, d in self.distributions.items()
                                            if n in names},
                       references={n: r for n, r in self.references.items() if n in names})

    def provenance(self) -> dict[str, Any]:
        """JSON-serialisable record: each parameter's family, numbers and source; the files."""
        return {
            "name": self.name,
            "files": [
                {"path": str(file.path), "name": file.name, "description": file.description,
                 "reference": file.reference}
                for file in self.files
            ],
            "parameters": {
                name: {"family": dist.family, **asdict(dist), "source": self.references[name]}
                for name, dist in self.distributions.items()
            },
        }


def load_prior_files(paths: Sequence[Path | str]) -> PriorSet:
    """Load prior files and merge them, in order, into one PriorSet.

    Raises
    ------
    PriorError
        One line naming the file, the key path and the reason, for an unreadable or invalid
        file, or a parameter defined in more than one file.
    """
    if not paths:
        raise PriorError("no prior files given")
    distributions: dict[str, Distribution] = {}
    references: dict[str, str] = {}
    files: list[PriorFile] = []
    defined_in: dict[str, Path] = {}
    for path in map(Path, paths):
        prior_file, file_distributions, file_references = _read_prior_file(path)
        for name in file_distributions:
            if name in defined_in:
                raise PriorError(f"already defined in {defined_in[name]}",
                                 key=f"parameters.{name}", path=path)
            defined_in[name] = path
        distributions.update(file_distributions)
        references.update(file_references)
        files.append(prior_file)
    return PriorSet(distributions, references, tuple(files))



# --- the prior-file schema ---------------------------------------------------------------

_NO_CONTROL = "without control characters (newline, tab, NUL)"


def _refuse(reason: str, key: str = "") -> PydanticCustomError:
    """A bad value, in the project's words; ``key`` is where it lies below the value."""
    return PydanticCustomError("mcprop", "{reason}", {"reason": reason, "key": key})


def _line(value: Any, handler: Callable) -> str:
    if not isinstance(value, str) or not value.isprintable():
        raise _refuse(f"must be a string {_NO_CONTROL}, got {brief_repr(value)}")
    return handler(value)


def _number(value: Any, handler: Callable) -> float:
    try:
        return handler(finite_number(value))
    except PriorError as err:
        raise _refuse(err.reason) from None


#: One line of printable text.
_Line = Annotated[str, WrapValidator(_line)]
#: A finite number.
_Number = Annotated[float, WrapValidator(_number)]


class _Prior(BaseModel):
    """A ``[parameters.<name>]`` table: a family, its numbers and their source."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(min_length=1)

    @classmethod
    def numbers(cls) -> list[str]:
        return [name for name in cls.model_fields if name not in ("family", "source")]

    @model_validator(mode="before")
    @classmethod
    def _fields(cls, table: Any) -> Any:
        family, numbers = table["family"], cls.numbers()
        for key in table:
            if key not in (*numbers, "family", "source"):
                raise _refuse(f"unknown field for family {family!r} (fields: "
                              f"{', '.join(numbers)})", key)
        for key in numbers:
            if key not in table:
                raise _refuse(f"missing; family {family!r} needs {', '.join(numbers)}", key)
        return table

    def distribution(self) -> Distribution:
        return FAMILIES[self.family](**self.model_dump(include=set(self.numbers())))

    @model_validator(mode="after")
    def _valid(self) -> "_Prior":
        try:
            self.distribution()
        except PriorError as err:
            raise _refuse(err.reason, err.key or "") from None
        return self


def _family(table: Any, handler: Callable) -> _Prior:
    """The table of its ``family``, after its family and source are checked."""
    if not isinstance(table, Mapping):
        raise _refuse("must be a table")
    if "family" not in table:
        raise _refuse("missing", "family")
    if "source" not in table:
        raise _refuse("missing; every prior needs a source string", "source")
    for key in ("family", "source"):
        value = table[key]
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            raise _refuse(f"must be a non-empty string {_NO_CONTROL}, got {brief_repr(value)}",
                          key)
    if table["family"] not in FAMILIES:
        raise _refuse(f"unknown family {table['family']!r} (known: {', '.join(FAMILIES)})",
                      "family")
    return handler(table)


def _parameter(name: Any, handler: Callable) -> str:
    if name not in PHYSICAL_DOMAINS:
        raise _refuse(f"unknown parameter (known: {', '.join(PHYSICAL_DOMAINS)})")
    return handler(name)


def _parameters(table: Any, handler: Callable) -> dict:
    if not isinstance(table, dict) or not table:
        raise _refuse("must be a non-empty table of parameters")
    return handler(table)


#: The table of each family, by the family's name.
PRIOR_TABLES: dict[str, type[_Prior]] = {
    family: create_model(f"{cls.__name__}Prior", __base__=_Prior, __doc__=cls.__doc__,
                         __module__=__name__, family=(Literal[family], ...),
                         **{f.name: (_Number, ...) for f in fields(cls)})
    for family, cls in FAMILIES.items()
}
_PriorTable = Annotated[functools.reduce(operator.or_, PRIOR_TABLES.values()),
                        Field(discriminator="family"), WrapValidator(_family)]


class PriorFileSchema(BaseModel):
    """A prior file: its schema version, name, description and reference, and the prior of
    each parameter (:data:`mcprop.physics.parameters.PARAMETERS`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="mcprop prior file")
    schema_version: Literal[SCHEMA_VERSION]
    name: _Line
    description: _Line = ""
    reference: _Line = ""
    parameters: Annotated[dict[Annotated[Literal[tuple(PHYSICAL_DOMAINS)],
                                         WrapValidator(_parameter)], _PriorTable],
                          Field(min_length=1), WrapValidator(_parameters)]

    @model_validator(mode="before")
    @classmethod
    def _document(cls, document: Any) -> Any:
        for key in document:
            if key not in cls.model_fields:
                raise _refuse(f"unknown top-level key (allowed: {', '.join(cls.model_fields)})",
                              key)
        if "schema_version" not in document:
            raise _refuse(f"missing; this version reads schema_version = {SCHEMA_VERSION}",
                          "schema_version")
        version = document["schema_version"]
        if type(version) is not int or version != SCHEMA_VERSION:
            raise _refuse(f"unsupported value {brief_repr(version)}; only {SCHEMA_VERSION} is "
                          f"supported", "schema_version")
        if isinstance(document.get("name", ""), str) and not document.get("name", "").strip():
            raise _refuse("missing or empty", "name")
        if "parameters" not in document:
            raise _refuse("missing [parameters] table", "parameters")
        return document

    @model_validator(mode="after")
    def _physical(self) -> "PriorFileSchema":
        for name, table in self.parameters.items():
            try:
                _check_physical(name, table.distribution())
            except PriorError as err:
                raise _refuse(err.reason, ".".join(
                    part for part in ("parameters", name, err.key) if part)) from None
        return self


def _prior_error(error: Mapping[str, Any], path: Path) -> PriorError:
    """The PriorError of one of pydantic's errors: ``loc`` as the dotted key (without the
    family's tag), the reason in the project's words."""
    loc = [str(part) for part in error["loc"] if part != "[key]"]
    if len(loc) > 2 and loc[0] == "parameters" and loc[2] in FAMILIES:
        del loc[2]
    context = error.get("ctx") or {}
    if error["type"] == "mcprop":
        reason = context["reason"]
        loc += [context["key"]] if context["key"] else []
    else:
        reason = error["msg"]
    return PriorError(reason, key=".".join(loc) or None, path=path)


def _read_prior_file(path: Path) -> tuple[PriorFile, dict[str, Distribution], dict[str, str]]:
    """Read and validate one prior file; PriorError messages name ``path``."""
    try:
        document = read_toml(path)
    except InputFileError as err:
        raise PriorError(err.reason, path=err.path) from None
    try:
        schema = PriorFileSchema.model_validate(document)
    except ValidationError as exc:
        raise _prior_error(exc.errors()[0], path) from None
    return (PriorFile(path, schema.name, schema.description, schema.reference),
            {name: table.distribution() for name, table in schema.parameters.items()},
            {name: table.source for name, table in schema.parameters.items()})
