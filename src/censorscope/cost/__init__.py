"""cost: what a disruption costs, as a range with every input and step written out.

- :mod:`~censorscope.cost.economy`: the World Bank figures the package ships (GDP, population,
  internet users; ``censorscope/data/economy/``, CC BY 4.0) by ISO-2 country and year;
- :mod:`~censorscope.cost.methods`: the methods (Deloitte, Brookings/West-like, COST-style,
  services by app class, scope and residual connectivity), small pure functions with their
  coefficients named and sourced;
- :mod:`~censorscope.cost.estimate`: :func:`estimate` → :class:`Estimate` (low / central /
  high, inputs, trace);
- :mod:`~censorscope.cost.event`: :func:`estimate_for_event`, a stored shutdown outage or
  service-restriction incident priced with its measured scope;
- :mod:`~censorscope.cost.formula`: re-computes a trace from its formulas;
- :mod:`~censorscope.cost.cli`: ``censorscope cost``.

The methods, their sources and two comparisons with published figures: ``docs/cost.md``.
"""

from .errors import CostInputError
from .estimate import Estimate, estimate
from .event import estimate_for_event

__all__ = ["CostInputError", "Estimate", "estimate", "estimate_for_event"]
