// Each built feature's option parsers, put where the config parser finds them (config/registry.ts):
// the config knows no feature, the features know the config. Call before reading a config file.
import { parsers } from '../config/registry.ts';
import { authOption, finishAuth } from './auth/config.ts';
import { bridgeOption, checkBridge, newBridge } from './bridge/config.ts';
import { gpioWords, parseGpio } from './gpio/config.ts';
import { haOption } from './ha/config.ts';
import { persistOption } from './persist/config.ts';
import { parseSerialLink } from './serial/config.ts';
import { checkSn, snDefaults, snOption } from './sn/config.ts';
import { checkTls, pskFileOption, tlsOption } from './tls/config.ts';
import { wsOption } from './ws/config.ts';

export function registerFeatureParsers(): void {
  if (BRIDGE) Object.assign(parsers, { newBridge, bridgeOption, checkBridge });
  if (SERIAL) parsers.parseSerialLink = parseSerialLink;
  if (GPIO) Object.assign(parsers, { gpioWords, parseGpio });
  if (GPIO || SERIAL) parsers.haOption = haOption;
  if (SN) Object.assign(parsers, { snDefaults, snOption, checkSn });
  if (TLS) Object.assign(parsers, { tlsOption, pskFileOption, checkTls });
  if (WS) parsers.wsOption = wsOption;
  if (AUTH) Object.assign(parsers, { authOption, finishAuth });
  if (PERSIST) parsers.persistOption = persistOption;
}
