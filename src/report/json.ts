/** `--json FILE`: the results record itself (schemaVersion, context, raw samples). */
import type { Exporter } from './exporter.js';

export const jsonExporter: Exporter = {
  format: 'json',
  render: (results) => JSON.stringify(results, null, 2) + '\n',
};
