import type { FastifyReply } from 'fastify'
import type { ParameterProblem } from './params.ts'

/** Answers 400 naming each bad parameter: `parameter: message` joined, and the list in `details`. */
export function badRequest(reply: FastifyReply, problems: ParameterProblem[]) {
  return reply.code(400).send({
    error: 'bad_request',
    message: problems.map((problem) => `${problem.parameter}: ${problem.message}`).join('; '),
    details: problems,
  })
}
