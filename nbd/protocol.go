package nbd

import "github.com/pojntfx/go-nbd/pkg/protocol"

// Wire constants of the NBD protocol (NetworkBlockDevice/nbd doc/proto.md). The ones go-nbd v0.3.2
// defines are taken from its protocol package; the rest (structured replies, meta contexts, the
// commands and flags go-nbd's server does not know) are defined here with the spec's values.
const (
	magicNBD         = protocol.NEGOTIATION_MAGIC_OLDSTYLE // "NBDMAGIC"
	magicOption      = protocol.NEGOTIATION_MAGIC_OPTION   // "IHAVEOPT"
	magicOptionReply = protocol.NEGOTIATION_MAGIC_REPLY
	magicRequest     = protocol.TRANSMISSION_MAGIC_REQUEST
	magicSimpleReply = protocol.TRANSMISSION_MAGIC_REPLY
	magicStructReply = uint32(0x668e33ef)

	// handshake flags (server) and client flags
	flagFixedNewstyle = protocol.NEGOTIATION_HANDSHAKE_FLAG_FIXED_NEWSTYLE
	flagNoZeroes      = uint16(1 << 1)

	// options
	optExportName       = uint32(1)
	optAbort            = protocol.NEGOTIATION_ID_OPTION_ABORT
	optList             = protocol.NEGOTIATION_ID_OPTION_LIST
	optStartTLS         = uint32(5)
	optInfo             = protocol.NEGOTIATION_ID_OPTION_INFO
	optGo               = protocol.NEGOTIATION_ID_OPTION_GO
	optStructuredReply  = uint32(8)
	optListMetaContext  = uint32(9)
	optSetMetaContext   = uint32(10)
	repAck              = protocol.NEGOTIATION_TYPE_REPLY_ACK
	repServer           = protocol.NEGOTIATION_TYPE_REPLY_SERVER
	repInfo             = protocol.NEGOTIATION_TYPE_REPLY_INFO
	repMetaContext      = uint32(4)
	repErrUnsupported   = protocol.NEGOTIATION_TYPE_REPLY_ERR_UNSUPPORTED
	repErrPolicy        = uint32(2 | 1<<31)
	repErrInvalid       = uint32(3 | 1<<31)
	repErrTLSReqd       = uint32(5 | 1<<31)
	repErrUnknown       = protocol.NEGOTIATION_TYPE_REPLY_ERR_UNKNOWN
	repErrTooBig        = uint32(9 | 1<<31)
	infoExport          = protocol.NEGOTIATION_TYPE_INFO_EXPORT
	infoName            = protocol.NEGOTIATION_TYPE_INFO_NAME
	infoDescription     = protocol.NEGOTIATION_TYPE_INFO_DESCRIPTION
	infoBlockSize       = protocol.NEGOTIATION_TYPE_INFO_BLOCKSIZE
	metaBaseAllocation  = "base:allocation"
	metaContextIDAlloc  = uint32(1)
	transHasFlags       = protocol.NEGOTIATION_REPLY_FLAGS_HAS_FLAGS
	transReadOnly       = uint16(1 << 1)
	transSendFlush      = uint16(1 << 2)
	transSendFUA        = uint16(1 << 3)
	transSendTrim       = uint16(1 << 5)
	transSendWriteZeros = uint16(1 << 6)
	transSendDF         = uint16(1 << 7)
	transCanMultiConn   = protocol.NEGOTIATION_REPLY_FLAGS_CAN_MULTI_CONN
	transSendCache      = uint16(1 << 10)
	transSendFastZero   = uint16(1 << 11)

	// commands
	cmdRead        = protocol.TRANSMISSION_TYPE_REQUEST_READ
	cmdWrite       = protocol.TRANSMISSION_TYPE_REQUEST_WRITE
	cmdDisc        = protocol.TRANSMISSION_TYPE_REQUEST_DISC
	cmdFlush       = uint16(3)
	cmdTrim        = uint16(4)
	cmdCache       = uint16(5)
	cmdWriteZeroes = uint16(6)
	cmdBlockStatus = uint16(7)

	// command flags
	cmdFlagFUA    = uint16(1 << 0)
	cmdFlagNoHole = uint16(1 << 1)
	cmdFlagDF     = uint16(1 << 2)
	cmdFlagReqOne = uint16(1 << 3)
	// cmdFlagFastZero asks a WRITE_ZEROES to fail with NBD_ENOTSUP unless it is faster than
	// writing zeroes (see FastZeroWriter).
	cmdFlagFastZero = uint16(1 << 4)

	// structured reply chunk types and flags
	chunkFlagDone       = uint16(1)
	chunkOffsetData     = uint16(1)
	chunkBlockStatus    = uint16(5)
	chunkError          = uint16(1<<15 | 1)
	blockStatusHole     = uint32(1)
	blockStatusZero     = uint32(2)
	requestHeaderBytes  = 28
	simpleReplyBytes    = 16
	structReplyBytes    = 20
	offsetDataHdrBytes  = structReplyBytes + 8
	maxReplyHeaderBytes = offsetDataHdrBytes
)

// NBD error numbers sent in replies (the spec fixes them to the Linux values).
const (
	errPerm     = protocol.TRANSMISSION_ERROR_EPERM
	errIO       = uint32(5)
	errNoMem    = uint32(12)
	errInval    = protocol.TRANSMISSION_ERROR_EINVAL
	errNoSpc    = uint32(28)
	errOverflow = uint32(75)
	errNotSup   = uint32(95)
	errShutdown = uint32(108)
)
