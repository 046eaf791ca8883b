/**
 * CPU and heap profiles of the measured phase only, through node:inspector in this thread.
 * The files open in Chrome DevTools (Performance / Memory panels) and in VS Code. The release
 * WASM build keeps its name section, so AssemblyScript functions appear by name.
 */
import { Session } from 'node:inspector/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeOutputFile } from '../io.js';

export interface ProfileTargets {
  cpuDir?: string;
  heapDir?: string;
}

/** Profiles one phase at a time; start() and stop() bracket it. */
export class PhaseProfiler {
  private session: Session | undefined;

  constructor(private readonly targets: ProfileTargets) {}

  get enabled(): boolean {
    return Boolean(this.targets.cpuDir) || Boolean(this.targets.heapDir);
  }

  private async connect(): Promise<Session> {
    if (this.session) return this.session;
    const s = new Session();
    s.connect();
    if (this.targets.cpuDir) {
      await s.post('Profiler.enable');
      // 100 us: fine enough for per-function attribution of runs lasting milliseconds.
      await s.post('Profiler.setSamplingInterval', { interval: 100 });
    }
    if (this.targets.heapDir) await s.post('HeapProfiler.enable');
    this.session = s;
    return s;
  }

  async start(): Promise<void> {
    if (!this.enabled) return;
    const s = await this.connect();
    if (this.targets.cpuDir) await s.post('Profiler.start');
    if (this.targets.heapDir) await s.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024 });
  }

  /** Stop and write `<name>.cpuprofile` / `<name>.heapprofile`; returns the paths written. */
  async stop(name: string): Promise<{ cpu?: string; heap?: string }> {
    if (!this.enabled || !this.session) return {};
    const out: { cpu?: string; heap?: string } = {};
    const file = name.replace(/[^A-Za-z0-9._-]+/g, '_');
    if (this.targets.cpuDir) {
      const { profile } = await this.session.post('Profiler.stop');
      mkdirSync(this.targets.cpuDir, { recursive: true });
      out.cpu = join(this.targets.cpuDir, `${file}.cpuprofile`);
      writeOutputFile(out.cpu, JSON.stringify(profile));
    }
    if (this.targets.heapDir) {
      const { profile } = await this.session.post('HeapProfiler.stopSampling');
      mkdirSync(this.targets.heapDir, { recursive: true });
      out.heap = join(this.targets.heapDir, `${file}.heapprofile`);
      writeOutputFile(out.heap, JSON.stringify(profile));
    }
    return out;
  }

  close(): void {
    this.session?.disconnect();
    this.session = undefined;
  }
}
