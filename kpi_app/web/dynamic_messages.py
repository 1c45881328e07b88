"""Interface texts that the code translates from a variable (``_(name)``), listed for pybabel.

pybabel only extracts literal arguments of ``_()``/``N_()``, so texts kept in data tables and
translated at display time, such as ``_(target_names[target])`` for the SDG 11 target titles,
were never extracted and stayed English in every language. Listing them here with the no-op
marker ``N_`` puts them into ``messages.pot`` at the next ``kpi-app translate update``;
``tests/unit/test_dynamic_messages.py`` keeps this list equal to the tables it mirrors.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it here."""
    return message


#: services/reports/sdg.py SDG11_TARGETS (the project's own wording of the SDG 11 targets).
SDG11_TARGET_TITLES = (
    N_("Adequate, safe and affordable housing and basic services for all"),
    N_("Safe, affordable and accessible transport for everyone"),
    N_("Inclusive urbanisation and participatory settlement planning"),
    N_("Protecting cultural and natural heritage"),
    N_("Fewer deaths, people affected and losses from disasters"),
    N_("Lower environmental impact of cities: air quality and waste"),
    N_("Safe, inclusive green and public spaces for all"),
    N_("Positive links between urban, peri-urban and rural areas"),
    N_("Integrated policies for inclusion, resilience and disaster risk reduction"),
    N_("Support for least developed countries in sustainable building"),
)

#: services/data_io.py QUALITY_LABELS (data-quality levels 1-6).
QUALITY_LEVEL_LABELS = (
    N_("Measured directly, with accurate instruments or complete records"),
    N_("Calculated from reliable measurements or complete registers"),
    N_("Estimated from reliable data, with a documented method"),
    N_("Estimated with assumptions that are stated but not checked"),
    N_("Rough estimate or expert judgement"),
    N_("Method unknown; the figure cannot be traced to its origin"),
)

#: scoring/progress.py PROGRESS_CLASSES (SDG progress classes, best to worst).
PROGRESS_CLASS_LABELS = (
    N_("target met"),
    N_("on track"),
    N_("progress but needs acceleration"),
    N_("limited progress"),
    N_("deterioration"),
    N_("insufficient data"),
    N_("not assessed"),
)

#: Region names of the UN M49 standard (regions, sub-regions, intermediate regions), as kept in
#: ``Country.region`` and shown translated on /cities and in the methods lab (the stored name,
#: English, stays the filter value).
M49_REGION_NAMES = (
    N_("Africa"),
    N_("Americas"),
    N_("Asia"),
    N_("Europe"),
    N_("Oceania"),
    N_("Northern Africa"),
    N_("Sub-Saharan Africa"),
    N_("Eastern Africa"),
    N_("Middle Africa"),
    N_("Southern Africa"),
    N_("Western Africa"),
    N_("Latin America and the Caribbean"),
    N_("Caribbean"),
    N_("Central America"),
    N_("South America"),
    N_("Northern America"),
    N_("Central Asia"),
    N_("Eastern Asia"),
    N_("South-eastern Asia"),
    N_("Southern Asia"),
    N_("Western Asia"),
    N_("Eastern Europe"),
    N_("Northern Europe"),
    N_("Southern Europe"),
    N_("Western Europe"),
    N_("Australia and New Zealand"),
    N_("Melanesia"),
    N_("Micronesia"),
    N_("Polynesia"),
)
