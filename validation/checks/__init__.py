"""The checks, one module per family; importing this package registers them."""
from . import theorem3  # noqa: F401
from . import background, first_order, newton  # noqa: F401
from . import second_order  # noqa: F401
from . import specdef, c1  # noqa: F401
from . import attacks  # noqa: F401
from . import scale  # noqa: F401
