/** From flag (`--json`, `--csv`, `--md`, `report -o x.html`) to exporter. */
import type { Exporter } from './exporter.js';
import { jsonExporter } from './json.js';
import { csvExporter } from './csv.js';
import { mdExporter } from './md.js';
import { htmlExporter } from './html.js';

export const EXPORTERS: Record<Exporter['format'], Exporter> = {
  json: jsonExporter,
  csv: csvExporter,
  md: mdExporter,
  html: htmlExporter,
};
