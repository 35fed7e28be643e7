"""Statements as pure functions of facts (ADR 0023): the rows each read model holds, made from
folded states (`compute`); company obligations (`company`), public cost (`public`), what changed
since a position (`restate`, with `replay`), prior-period adjustments (`adjustments`), a period
as the books keep it (`periods`); their lines (`text`; canonical form: `domain.statement_lines`)
and tables (`sheet`).

Standard library only, like all of `domain`: the server builds a statement from the read models
or a replay with this code, and a partner's `impress-verify` builds it again from the facts of a
bundle with the same code.
"""
