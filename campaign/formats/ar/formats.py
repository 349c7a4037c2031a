"""Numbers on Arabic pages as Libya writes them (CLDR's ar-LY): Western
digits grouped by threes with a dot, as the page's script also writes them
(Intl.NumberFormat("ar-LY")). Django's own Arabic formats do not group."""

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
