// name: schema_mentions
// params: -
// returns: nothing; which fact mentions which entity
CREATE REL TABLE IF NOT EXISTS MENTIONS(FROM Fact TO Entity)
