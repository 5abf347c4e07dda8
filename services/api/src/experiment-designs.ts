import { readFile } from 'node:fs/promises'
import { z } from 'zod'

// Experiment designs registered before the experiments start (CPI_EXPERIMENTS_FILE): the
// minimum detectable effect, alpha, power and, per CPI, the baseline rates the sample size is
// planned from. A registered design is what the experiments endpoint applies to its experiment,
// whatever the request asks: a design chosen after seeing the data is no design.

const rate = z.number().gt(0).lt(1)

export const experimentDesignSchema = z.object({
  id: z
    .string()
    .regex(/^[\w.:-]{1,128}$/, { error: 'an experiment id (letters, digits, _ . : -, at most 128)' }),
  minimumDetectableEffect: rate,
  alpha: z.number().gt(0).max(0.2).default(0.05),
  power: z.number().min(0.5).lt(1).default(0.8),
  /** Per CPI name: the control's expected CPI rate and linked KPI rate. */
  baselines: z.record(z.string(), z.object({ cpi: rate.optional(), kpi: rate.optional() })).default({}),
  description: z.string().optional(),
})

export type ExperimentDesignEntry = z.infer<typeof experimentDesignSchema>

/** Parses a designs file's content; every problem names the entry and field. */
export function parseExperimentDesigns(
  input: unknown,
  source = 'experiments',
): Map<string, ExperimentDesignEntry> {
  const result = z.array(experimentDesignSchema).safeParse(input)
  if (!result.success)
    throw new Error(
      `invalid experiment designs in ${source}:\n  ${result.error.issues
        .map((issue) => `${issue.path.map(String).join('.') || '(file)'}: ${issue.message}`)
        .join('\n  ')}`,
    )
  const designs = new Map<string, ExperimentDesignEntry>()
  for (const design of result.data) {
    if (designs.has(design.id))
      throw new Error(`invalid experiment designs in ${source}: ${design.id} registered twice`)
    designs.set(design.id, design)
  }
  return designs
}

export async function loadExperimentDesigns(
  file: string | undefined,
): Promise<Map<string, ExperimentDesignEntry>> {
  if (!file) return new Map()
  const text = await readFile(file, 'utf8')
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new Error(`invalid experiment designs in ${file}: expected JSON, got ${(error as Error).message}`)
  }
  return parseExperimentDesigns(parsed, file)
}
