/**
 * Kline CSV rows in Binance Vision's formats, one per market and timestamp
 * unit, shared by the tests of the CSV decoder and its worker pool.
 *
 * @module
 */

/** A spot 1m row from 2023, timestamps in ms. */
export const SPOT_2023 =
  "1672531200000,16541.77000000,16544.76000000,16538.45000000,16543.67000000,83.08143000," +
  "1672531259999,1374268.84886160,2687,40.18369000,664706.01106360,0";
/** A spot 1m row from 2025, timestamps in µs. */
export const SPOT_2025 =
  "1735689600000000,93576.00000000,93610.93000000,93537.50000000,93610.93000000,8.21827000," +
  "1735689659999999,768978.75522470,2631,3.95157000,369757.32652890,0";
/** A USDⓈ-M futures 1m row from 2023. */
export const UM_2023 = "1672531200000,16537.50,16538.00,16534.30,16538.00,170.576,1672531259999," +
  "2820697.45580,946,103.782,1716164.80590,0";
/** A COIN-M futures 1m row from 2025. */
export const CM_2025 = "1735689600000,93422.4,93463.2,93390.2,93463.2,7349,1735689659999," +
  "7.86650390,154,6685,7.15560836,0";
/** The header line of futures files. */
export const UM_HEADER = "open_time,open,high,low,close,volume,close_time,quote_volume,count," +
  "taker_buy_volume,taker_buy_quote_volume,ignore";
