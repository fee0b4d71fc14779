import { mkdir, readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import type { PrintJobMessage } from '@marketmesh/receipts'

/**
 * Where a job is, as the agent wrote it down before its next step (agent.ts says what each means
 * after a crash). An unfinished job keeps its message: it is finished from here, not from the stream.
 */
export type JobOutcome = { step: 'printed'; message: PrintJobMessage } | { step: 'failed'; message: PrintJobMessage; error: string }
export type JobStep = { step: 'claiming'; message: PrintJobMessage } | { step: 'sending'; message: PrintJobMessage } | JobOutcome | { step: 'done' }

export interface AgentStateData {
  /** The id of the last stream message the agent finished with: sent as Last-Event-ID when it connects again. */
  lastEventId?: string
  /** By job id, oldest first. */
  jobs: Record<string, JobStep>
}

/** How many finished jobs are remembered, so that a replay or a resend of one never prints it again. */
export const REMEMBERED_JOBS = 1_000

export const defaultStatePath = (env: NodeJS.ProcessEnv = process.env) =>
  join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'marketmesh', 'printer-state.json')

/** The agent's memory in one JSON file, replaced whole on every change (temp file, fsync, rename): a crash leaves the old or the new one. */
export class AgentState {
  private constructor(
    readonly path: string,
    private data: AgentStateData
  ) {}

  static async load(path: string) {
    await mkdir(dirname(path), { recursive: true })
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new AgentState(path, { jobs: {} })
      throw error
    }
    try {
      const data = JSON.parse(text) as AgentStateData
      return new AgentState(path, { lastEventId: data.lastEventId, jobs: data.jobs ?? {} })
    } catch (error) {
      throw new Error(
        `the state file ${path} is not JSON (${(error as Error).message}); move it away to start afresh, which may print recent jobs again`
      )
    }
  }

  get lastEventId() {
    return this.data.lastEventId
  }

  job(jobId: string): JobStep | undefined {
    return this.data.jobs[jobId]
  }

  /** Jobs a crash left half-way, oldest first. */
  unfinished() {
    return Object.entries(this.data.jobs).filter(([, job]) => job.step !== 'done')
  }

  /** Records a job's step, and the stream message the agent is through with, in one write. */
  async record(change: { jobId?: string; job?: JobStep; lastEventId?: string }) {
    const jobs = { ...this.data.jobs }
    if (change.jobId && change.job) {
      delete jobs[change.jobId]
      jobs[change.jobId] = change.job
    }
    const finished = Object.keys(jobs).filter((id) => jobs[id].step === 'done')
    for (const id of finished.slice(0, Math.max(0, finished.length - REMEMBERED_JOBS))) delete jobs[id]
    const data = { lastEventId: change.lastEventId ?? this.data.lastEventId, jobs }
    await writeFileAtomic(this.path, `${JSON.stringify(data)}\n`, { fsync: true })
    this.data = data
  }
}
