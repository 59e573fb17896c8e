DROP TABLE IF EXISTS typing_indicator_sends;
